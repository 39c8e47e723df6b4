"""Microsoft's identity rules (the only implementation: ``platforms.microsoft_ads.hashing``),
checked against the rules Microsoft publishes for enhanced conversions (see the plugin README):
trim, lower-case, drop ``+tag`` and every dot before ``@``, no spaces or accents, one ``@`` with a
dot after it; phones in E.164 (with the workspace's default region for national numbers)."""

from __future__ import annotations

import hashlib
import string

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platforms.microsoft_ads.hashing import RULES, normalize_email, normalize_phone
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform

LOCAL = st.text(string.ascii_lowercase + string.digits + "_-", min_size=1, max_size=12)
LABEL = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
DOMAIN = st.builds(lambda a, b: f"{a}.{b}", LABEL, st.sampled_from(["com", "co.uk", "io", "de"]))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Microsoft's examples of each rule.
        ("  John.Doe+ads@Gmail.com ", "johndoe@gmail.com"),  # trim, lower, +tag, dots (Gmail)
        ("jane.doe@contoso.com", "janedoe@contoso.com"),  # dots dropped for every domain
        ("jöhn.d@example.co.uk", "johnd@example.co.uk"),  # accents removed
        ("j o h n@example.com", "john@example.com"),  # spaces removed
        # Refused: no @, two @ (the host's old copy hashed this one), no dot after @, dots at
        # the edges, nothing before @.
        ("no-at-sign", None),
        ("a@b@c.com", None),
        ("a@b", None),
        ("a@.example.com", None),
        ("a@example.com.", None),
        (".a@example.com", None),
        ("+tag@example.com", None),
    ],
)
def test_published_email_rules(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (425) 555-0100", None, "+14255550100"),
        ("+44 20 7946 0958", None, "+442079460958"),
        # "00" is the international prefix from the UK; the plugin's old copy refused this one.
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(425) 555-0100", "US", "+14255550100"),
        ("425 555 0100", None, None),  # no country code and no default region
        ("not a phone", "US", None),
        ("+0123", None, None),
    ],
)
def test_phones_are_parsed_to_e164(raw: str, region: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


@given(LOCAL, DOMAIN)
def test_an_address_and_its_variants_hash_alike(local: str, domain: str) -> None:
    canonical = normalize_email(f"{local}@{domain}")
    assert canonical == f"{local}@{domain}"
    dotted = ".".join(local)  # dots anywhere before @ do not count
    for variant in (
        f"  {local.upper()}@{domain.upper()}  ",
        f"{dotted}@{domain}",
        f"{local}+promo2024@{domain}",
        f"{local[0]} {local[1:]}@{domain}",
    ):
        assert normalize_email(variant) == canonical, variant
    assert RULES.email_sha256(variant) == hashlib.sha256(canonical.encode()).hexdigest()


@given(st.text(max_size=40))
def test_a_normal_form_is_one_the_rules_keep_as_is(raw: str) -> None:
    normal = normalize_email(raw)
    if normal is not None:
        local, _, domain = normal.partition("@")
        assert normal == normal.lower() and normal == normalize_email(normal)
        assert local and "." not in local and "+" not in local and "@" not in domain
        assert "." in domain and not domain.startswith(".") and not domain.endswith(".")
        assert not any(ch.isspace() for ch in normal)


REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU"]


@settings(max_examples=60)
@given(st.sampled_from(REGIONS), st.sampled_from(["INTERNATIONAL", "NATIONAL", "E164"]))
def test_every_written_form_of_a_number_gives_its_e164(region: str, style: str) -> None:
    number = phonenumbers.example_number(region)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    written = phonenumbers.format_number(number, getattr(phonenumbers.PhoneNumberFormat, style))
    assert normalize_phone(written, region) == e164
    assert RULES.phone_sha256(written, region) == hashlib.sha256(e164.encode()).hexdigest()
    if style != "NATIONAL":
        assert normalize_phone(written, None) == e164  # a country code needs no region


def test_the_plugin_declares_these_rules() -> None:
    assert MicrosoftAdsPlatform.identity_rules is RULES
    assert MicrosoftAdsPlatform.capabilities.enhanced_conversions
