"""Google's normalisation rules for user-provided data (the only implementation of them).

From the Data Manager API formatting guide (README, "Hashing"): an email is lower-cased with all
whitespace removed; only for ``gmail.com`` and ``googlemail.com`` every ``.`` before the ``@`` is
removed, and a ``+`` in the local part is removed with everything after it; other domains keep
their dots and plus signs. A phone number is E.164 (``+``, country code, digits only), parsed by
``phonenumbers`` with the workspace's default region for numbers written without a country code.
Then SHA-256, lower-case hex (the request says ``encoding: HEX``).

This differs from Microsoft's rules (dots and plus removed for every domain), so the two plugins
declare separate ``IdentityRules`` and the host keeps one digest per rule set.
"""

from __future__ import annotations

import re

from platforms.base import IdentityRules
from platforms.identity_rules import e164_phone, looks_sha256_hex, split_address

_WHITESPACE = re.compile(r"\s+")
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalize_email(email: str) -> str | None:
    address = split_address(_WHITESPACE.sub("", email).lower())
    if address is None:
        return None
    local, domain = address
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


# Google's phone rule is E.164 with nothing more.
normalize_phone = e164_phone
# What ``encoding: HEX`` promises Google: a hex SHA-256 digest.
looks_hashed = looks_sha256_hex

RULES = IdentityRules("google_ads", normalize_email, normalize_phone)
