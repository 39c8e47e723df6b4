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

import phonenumbers

from platforms.base import IdentityRules

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_WHITESPACE = re.compile(r"\s+")
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def normalize_email(email: str) -> str | None:
    text = _WHITESPACE.sub("", email).lower()
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain or "." not in domain:
        return None
    if domain.startswith(".") or domain.endswith("."):
        return None
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        if not local:
            return None
    return f"{local}@{domain}"


def normalize_phone(phone: str, region: str | None = None) -> str | None:
    """E.164 of ``phone``; a number without a country code needs ``region``."""
    text = phone.strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, (region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


RULES = IdentityRules("google_ads", normalize_email, normalize_phone)


def hash_email(email: str) -> str | None:
    return RULES.email_sha256(email)


def hash_phone(phone: str, region: str | None = None) -> str | None:
    return RULES.phone_sha256(phone, region)


def looks_hashed(value: str) -> bool:
    """A lower-case hex SHA-256 digest (what ``encoding: HEX`` promises Google)."""
    return bool(_HEX64.match(value.lower()))
