"""Microsoft's normalisation rules for enhanced conversions, then SHA-256.

Offline uploads must be normalised and hashed by us (Microsoft rejects plain text), and the rules
differ from other platforms (dots before ``@`` are dropped for every domain), so they live with the
plugin rather than in the host.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def normalize_email(email: str) -> str | None:
    """Trim, lower-case, drop ``+tag`` and every dot before ``@``, spaces and accents."""
    text = unicodedata.normalize("NFKD", email.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace(" ", "")
    local, at, domain = text.partition("@")
    if not at or not local or "." not in domain or domain.startswith(".") or domain.endswith("."):
        return None
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else None


def normalize_phone(phone: str) -> str | None:
    """E.164 (``+`` then 8-15 digits). Without a leading ``+`` the country is unknown: None."""
    text = re.sub(r"[\s().-]", "", phone.strip())
    if not re.fullmatch(r"\+[1-9]\d{7,14}", text):
        return None
    return text


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_email(email: str) -> str | None:
    normalized = normalize_email(email)
    return sha256_hex(normalized) if normalized else None


def hash_phone(phone: str) -> str | None:
    normalized = normalize_phone(phone)
    return sha256_hex(normalized) if normalized else None


def looks_hashed(value: str) -> bool:
    """A hex SHA-256 digest; anything else might be plain personal data."""
    return bool(_HEX64.match(value))
