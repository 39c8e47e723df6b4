"""Connections between a workspace and a platform's ad account: their life cycle (``lifecycle``),
the OAuth dance (``oauth``) and the stored grants that give a plugin an authenticated session
(``credentials``)."""
