"""The host's own normalisation of personal identifiers, then SHA-256.

Plain emails and phone numbers are never stored: the pixel and the APIs hand them here and only
the digest is kept. The rules are the strictest ones the ad platforms we push to document
(Microsoft's: trim, lower-case, drop accents, spaces, ``+tags`` and every dot before ``@``; phones
in E.164), so a digest taken here is one the push can send as is. The push side checks that its
plugin agrees; the two implementations are kept apart on purpose.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_PHONE_NOISE = re.compile(r"[\s().\-]")
_E164 = re.compile(r"^\+[1-9][0-9]{7,14}$")


def normalise_email(raw: str) -> str | None:
    text = unicodedata.normalize("NFKD", raw.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch) and not ch.isspace())
    local, at, domain = text.partition("@")
    if not at or "@" in domain or "." not in domain or domain[0] == "." or domain[-1] == ".":
        return None
    local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}" if local else None


def normalise_phone(raw: str) -> str | None:
    """E.164 only: without a leading ``+`` the country is unknown, so nothing is kept."""
    text = _PHONE_NOISE.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    return text if _E164.match(text) else None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def email_sha256(raw: str) -> str | None:
    normalised = normalise_email(raw)
    return _sha256(normalised) if normalised else None


def phone_sha256(raw: str) -> str | None:
    normalised = normalise_phone(raw)
    return _sha256(normalised) if normalised else None


def is_sha256(value: str) -> bool:
    return bool(_HEX64.match(value))
