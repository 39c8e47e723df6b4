"""Local stand-in for Microsoft's identity platform and Microsoft Advertising REST API v13."""

from .app import create_app

__all__ = ["create_app"]
