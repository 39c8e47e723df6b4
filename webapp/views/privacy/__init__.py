"""Setup → Privacy and the ``/api/v1/privacy`` endpoints."""
