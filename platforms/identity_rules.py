"""What the platforms' published identity rules have in common, for their plugins' ``hashing``
modules: E.164 phone numbers, the shape of an e-mail address, and telling a SHA-256 digest from
plain text.

Each plugin keeps its own email rules (which dots and ``+tags`` go, accents, whitespace) and
declares its own ``IdentityRules``; only the pieces the platforms publish alike live here.
"""

from __future__ import annotations

import re

import phonenumbers

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def e164_phone(phone: str, region: str | None = None) -> str | None:
    """E.164 of ``phone`` (``+``, country code, digits), parsed by ``phonenumbers`` (Google's
    libphonenumber); a number without a country code needs ``region`` (ISO 3166), else None."""
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


def split_address(text: str) -> tuple[str, str] | None:
    """``(local, domain)`` of an already cleaned address: one ``@`` with something before it, a
    ``.`` in the domain and none at its edges; None for anything else."""
    local, at, domain = text.partition("@")
    if not at or not local or "@" in domain or "." not in domain:
        return None
    if domain.startswith(".") or domain.endswith("."):
        return None
    return local, domain


def looks_sha256_hex(value: str) -> bool:
    """A hex SHA-256 digest (either case); anything else might be plain personal data."""
    return bool(_HEX64.match(value))
