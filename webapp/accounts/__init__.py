"""Accounts: users and sign-in (``users``, ``login_throttle``, ``sessions``), workspaces,
members and invites, and workspace API keys."""
