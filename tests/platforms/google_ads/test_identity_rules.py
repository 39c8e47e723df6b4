"""Google's identity rules (the only implementation: ``platforms.google_ads.hashing``), checked
against the Data Manager formatting guide and the test vectors of Google's own formatter
(``googleads/data-manager-python`` ``tests/formatter_test.py``; see the plugin README)."""

from __future__ import annotations

import base64
import hashlib
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platforms.google_ads.hashing import (
    RULES,
    looks_hashed,
    normalize_email,
    normalize_phone,
)
from platforms.microsoft_ads.hashing import RULES as MICROSOFT_RULES

# Google's published vectors (hex and Base64 of the same SHA-256 digest).
ALEXZ_HEX = "509e933019bb285a134a9334b8bb679dff79d0ce023d529af4bd744d47b4fd8a"
ALEXZ_B64 = "UJ6TMBm7KFoTSpM0uLtnnf950M4CPVKa9L10TUe0/Yo="
PHONE_HEX = "fb4f73a6ec5fdb7077d564cdd22c3554b43ce49168550c3b12c547b78c517b30"
PHONE_B64 = "+09zpuxf23B31WTN0iw1VLQ85JFoVQw7EsVHt4xRezA="


def test_googles_email_vector() -> None:
    assert RULES.email_sha256("alexz@example.com") == ALEXZ_HEX
    assert RULES.email_sha256("  AlexZ@Example.com ") == ALEXZ_HEX
    assert base64.b64encode(bytes.fromhex(ALEXZ_HEX)).decode() == ALEXZ_B64


@pytest.mark.parametrize("raw", ["+18005550100", "(800)555-0100", "+1 800 555 0100"])
def test_googles_phone_vector(raw: str) -> None:
    assert RULES.phone_sha256(raw, "US") == PHONE_HEX
    assert base64.b64encode(bytes.fromhex(PHONE_HEX)).decode() == PHONE_B64


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The guide's two examples.
        ("cloudy.sanfrancisco+shopping@gmail.com", "cloudysanfrancisco@gmail.com"),
        ("user.name+NYC@Example.com", "user.name+nyc@example.com"),
        # Google's formatter test.
        ("Jefferson.Loves.hiking@gmail.com", "jeffersonloveshiking@gmail.com"),
        ("a.b+c@googlemail.com", "ab@googlemail.com"),
        ("  Jane Doe@example.org  ", "janedoe@example.org"),  # whitespace anywhere goes
        ("no-at-sign", None),
        ("a@b@c.com", None),
        ("a@b", None),
        ("a@.example.com", None),
        ("+tag@gmail.com", None),
    ],
)
def test_published_email_rules(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_google_and_microsoft_disagree_and_are_separate_rule_sets() -> None:
    """Microsoft drops dots for every domain, Google only for Gmail: one address, two digests."""
    raw = "user.name@example.com"
    assert RULES.id != MICROSOFT_RULES.id
    assert RULES.email_sha256(raw) != MICROSOFT_RULES.email_sha256(raw)
    assert RULES.email_sha256(raw) == hashlib.sha256(b"user.name@example.com").hexdigest()


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", None, None),  # no country code and no default region
        ("not a phone", "US", None),
    ],
)
def test_phone_rules(raw: str, region: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


LOCAL = st.text(string.ascii_letters + string.digits + "._-+", min_size=1, max_size=12)
DOMAIN = st.sampled_from(["gmail.com", "googlemail.com", "example.com", "Example.CO.uk"])


@settings(max_examples=200)
@given(LOCAL, DOMAIN, st.sampled_from(["", " ", "\t", "  "]))
def test_normal_form_is_stable_and_clean(local: str, domain: str, pad: str) -> None:
    raw = f"{pad}{local}@{domain}{pad}"
    normal = normalize_email(raw)
    if normal is None:
        return
    assert normalize_email(normal) == normal  # idempotent
    assert normal == normal.lower() and not any(ch.isspace() for ch in normal)
    assert normalize_email(raw.upper()) == normal  # case never matters
    name, _, host = normal.partition("@")
    if host in ("gmail.com", "googlemail.com"):
        assert "." not in name and "+" not in name
    else:
        assert name == local.lower()  # other domains keep dots and plus signs
    digest = RULES.email_sha256(raw)
    assert digest is not None and looks_hashed(digest)
    assert digest == hashlib.sha256(normal.encode()).hexdigest()
