"""The local demo: a small website with the pixel installed, and a traffic simulator.

Not part of the product: ``scripts/demo`` runs these beside the app so that a newcomer sees
conversions pushed, insights pulled and attribution reports without a Microsoft account.
"""
