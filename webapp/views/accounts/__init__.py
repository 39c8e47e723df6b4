"""Sign-in, members, API keys and workspace settings."""
