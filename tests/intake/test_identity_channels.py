"""Identities hashed once per distinct rule set the plugins declare, and the channel classifier."""

from __future__ import annotations

import hashlib

import pytest

from platforms.base import IdentityRules
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from tests.fake_platform import FakePlatform
from tests.plugins.example_ads.plugin import ExampleAdsPlatform
from webapp.services import click_ids, identity
from webapp.services.channels import classify

RULES_A = IdentityRules("rules_a", lambda e: e.strip().lower() or None, lambda p, r: p or None)
RULES_B = IdentityRules(
    "rules_b", lambda e: e.strip() or None, lambda p, r: f"+{r}{p}" if r else None
)


class _Declares(FakePlatform):
    def __init__(self, key: str, rules: IdentityRules | None) -> None:
        super().__init__()
        self.key = key  # type: ignore[misc]
        self.identity_rules = rules  # type: ignore[misc]


def test_intake_hashes_once_per_distinct_rule_set_and_keeps_no_clear_text() -> None:
    platforms = [
        _Declares("one", RULES_A),
        _Declares("two", RULES_A),  # the same rule set: hashed once
        _Declares("three", RULES_B),
        _Declares("four", None),
    ]
    rules = identity.rule_sets(platforms)
    assert [r.id for r in rules] == ["rules_a", "rules_b"]
    digests, unusable = identity.hash_identity(
        email=" Jane@Example.com ", phone="5550100", region="7", rules=rules
    )
    sha = lambda text: hashlib.sha256(text.encode()).hexdigest()  # noqa: E731
    assert dict(digests.by_rules) == {
        "rules_a": {"email": sha("jane@example.com"), "phone": sha("5550100")},
        "rules_b": {"email": sha("Jane@Example.com"), "phone": sha("+75550100")},
    }
    assert (digests.email, digests.phone) == (sha("jane@example.com"), sha("5550100"))
    assert unusable == []
    # Each plugin gets the digests of its own rules, from the conversion first, then its visitor.
    assert identity.digests_for(platforms[2], digests.by_rules) == (
        sha("Jane@Example.com"),
        sha("+75550100"),
    )
    assert identity.digests_for(platforms[3], digests.by_rules) == (None, None)
    visitor = {"rules_a": {"phone": "p" * 64}}
    assert identity.digests_for(platforms[0], {"rules_a": {"email": "e" * 64}}, visitor) == (
        "e" * 64,
        "p" * 64,
    )


def test_a_field_no_rule_set_can_use_is_reported() -> None:
    _, unusable = identity.hash_identity(email="  ", phone="123", rules=(RULES_B,))
    assert unusable == ["email", "phone"]


def test_a_pre_hashed_digest_stands_for_every_rule_set() -> None:
    digests, _ = identity.hash_identity(email_sha256="d" * 64, rules=(RULES_A, RULES_B))
    assert digests.by_rules == {"rules_a": {"email": "d" * 64}, "rules_b": {"email": "d" * 64}}


@pytest.mark.parametrize(
    ("clicks", "utm", "referrer", "channel"),
    [
        ({"msclkid": "x", "fakeclid": "y"}, {}, "", "microsoft_ads"),
        ({"fakeclid": "y"}, {}, "https://www.google.com/", "fake"),
        ({"exclid": "z"}, {}, "", "example_ads"),
        ({"gclid": "undeclared"}, {}, "", "direct"),
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
    catalog = click_ids.build([MicrosoftAdsPlatform(), FakePlatform(), ExampleAdsPlatform()])
    assert classify(clicks, utm, referrer, "shop.example.com", catalog)[0] == channel
