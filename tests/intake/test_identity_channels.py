"""The host's identifier normalisation and the channel classifier."""

from __future__ import annotations

import hashlib

import pytest

from webapp.services.channels import classify
from webapp.services.identity import email_sha256, normalise_email, normalise_phone, phone_sha256


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane.Doe+News@Example.COM ", "janedoe@example.com"),
        ("josé@exämple.com", "jose@example.com"),
        ("no-at-sign", None),
        ("@example.com", None),
        ("a@b", None),
        ("+tag@example.com", None),
    ],
)
def test_email_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (415) 555-0100", "+14155550100"),
        ("0033 6 12 34 56 78", "+33612345678"),
        ("0612345678", None),
        ("+0123", None),
    ],
)
def test_phone_normalisation(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


def test_digests_are_sha256_of_the_normalised_form() -> None:
    assert email_sha256("A.B@x.io") == hashlib.sha256(b"ab@x.io").hexdigest()
    assert phone_sha256("+44 20 7946 0958") == hashlib.sha256(b"+442079460958").hexdigest()


@pytest.mark.parametrize(
    ("clicks", "utm", "referrer", "channel"),
    [
        ({"msclkid": "x", "gclid": "y"}, {}, "", "microsoft_ads"),
        ({"gclid": "y"}, {}, "https://www.google.com/", "google_ads"),
        ({"fbclid": "z"}, {}, "", "meta_ads"),
        ({}, {"utm_source": "bing", "utm_medium": "cpc"}, "", "microsoft_ads"),
        ({}, {"utm_source": "newsletter", "utm_medium": "email"}, "", "email"),
        ({}, {"utm_source": "partner", "utm_medium": "cpc"}, "", "paid_other"),
        ({}, {}, "https://www.bing.com/search?q=x", "organic_search"),
        ({}, {}, "https://blog.example.org/post", "referral"),
        ({}, {}, "", "direct"),
        ({}, {}, "https://shop.example.com/cart", "direct"),
    ],
)
def test_channels(clicks, utm, referrer, channel) -> None:
    assert classify(clicks, utm, referrer, "shop.example.com")[0] == channel
