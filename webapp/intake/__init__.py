"""Intake: what the website, senders and payment webhooks tell us. The pixel (``collect``), the
conversion API and Stripe (``conversions``, ``stripe_webhooks``), visitors and their click ids
(``click_ids``, ``channels``), hashed identities (``identity``), the pixel's settings
(``tracking``) and click matching (``click_matching``: which ad click a conversion goes back to)."""
