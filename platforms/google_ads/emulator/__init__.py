"""Local stand-in for Google's OAuth 2.0, the Google Ads API (REST v26) and the Data Manager API
(v1), with a control API for tests and the demo. Shares no code with the Google Ads plugin."""

from .app import create_app

__all__ = ["create_app"]
