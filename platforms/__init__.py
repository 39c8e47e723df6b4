"""Ad platform plugins and the interface they implement.

Nothing here imports Flask, the database or Redis: plugins take values and return values.
"""
