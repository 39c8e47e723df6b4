"""Background work on RQ: everything that talks to an ad platform runs here, never in a request."""
