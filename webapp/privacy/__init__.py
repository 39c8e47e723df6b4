"""Privacy: consent to ad storage as SourceLoop records it (``consent``), a person's data
requests (``data_requests``: export or erase) and retention limits (``retention``)."""
