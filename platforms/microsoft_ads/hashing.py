"""Microsoft's normalisation rules for enhanced conversions (the only implementation of them).

Offline uploads must be normalised and hashed by us (Microsoft rejects plain text). The rules, from
Microsoft's enhanced-conversions help (see README, "Enhanced conversions"): trim; lower-case; drop
everything between ``+`` and ``@``; drop every ``.`` before ``@`` (every domain, not only Gmail);
remove spaces and accents; the address must contain one ``@`` with a ``.`` after it and must not
start or end with ``.``. Phones in E.164, parsed by ``phonenumbers`` (Google's libphonenumber),
with the workspace's default region for numbers written without a country code. Then SHA-256,
lower-case hex.

The host never normalises by itself: it calls ``RULES`` (declared as the plugin's
``identity_rules``) at intake, so what it stores is what Microsoft expects.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from platforms.base import IdentityRules

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def normalize_email(email: str) -> str | None:
    text = unicodedata.normalize("NFKD", email.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) and not ch.isspace())
    local, at, domain = text.partition("@")
    if not at or "@" in domain or "." not in domain:
        return None
    if domain.startswith(".") or domain.endswith(".") or text.startswith("."):
        return None
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else None


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


RULES = IdentityRules("microsoft_ads", normalize_email, normalize_phone)


def hash_email(email: str) -> str | None:
    return RULES.email_sha256(email)


def hash_phone(phone: str, region: str | None = None) -> str | None:
    return RULES.phone_sha256(phone, region)


def looks_hashed(value: str) -> bool:
    """A hex SHA-256 digest; anything else might be plain personal data."""
    return bool(_HEX64.match(value))
