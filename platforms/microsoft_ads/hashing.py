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

import unicodedata

from platforms.base import IdentityRules
from platforms.identity_rules import e164_phone, looks_sha256_hex, split_address


def normalize_email(email: str) -> str | None:
    text = unicodedata.normalize("NFKD", email.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) and not ch.isspace())
    address = split_address(text)
    if address is None or text.startswith("."):
        return None
    local, domain = address
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else None


# Microsoft's phone rule is E.164 with nothing more.
normalize_phone = e164_phone
# Microsoft rejects plain text: a hex SHA-256 digest or nothing.
looks_hashed = looks_sha256_hex

RULES = IdentityRules("microsoft_ads", normalize_email, normalize_phone)
