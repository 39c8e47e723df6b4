"""Functions on ids and values that own their transaction: the one API views, CLI and jobs share."""
