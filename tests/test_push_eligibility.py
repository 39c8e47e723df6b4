"""Eligibility: every state a mapped conversion can be in, with its reason, and the choice of
click id (the sender's own first, else the visitor's most recent msclkid in the 90 days before)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from tests.plugins.example_ads.plugin import ExampleAdsPlatform
from webapp.services.attribution import best_click
from webapp.services.push_eligibility import (
    ELIGIBLE,
    NOT_ELIGIBLE,
    WAITING,
    Click,
    GoalFacts,
    Reason,
    decide,
    generic_wording,
    wording,
)

NOW = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
GOAL = GoalFacts("Closed won", is_active=True, status="Active", enhanced_conversions=False)
ENHANCED = GoalFacts("Qualified lead", is_active=True, status="Active", enhanced_conversions=True)
OLD_CLICK = Click("a" * 32, NOW - timedelta(days=2))


def verdict(**kwargs):
    base = {
        "rules": MicrosoftAdsPlatform.upload_rules,
        "occurred_at": NOW - timedelta(hours=3),
        "now": NOW,
        "goal": GOAL,
        "click": OLD_CLICK,
    }
    return decide(**{**base, **kwargs})


def words(v) -> str:
    return wording(MicrosoftAdsPlatform(), v.code, v.facts).text


def test_a_conversion_with_a_settled_click_and_goal_is_eligible() -> None:
    v = verdict()
    assert (v.state, v.click_id, v.hash_only) == (ELIGIBLE, "a" * 32, False)


@pytest.mark.parametrize(
    ("kwargs", "state", "words"),
    [
        ({"goal": None}, NOT_ELIGIBLE, "no longer exists"),
        (
            {"goal": GoalFacts("Legacy signup", False, "Paused", False)},
            NOT_ELIGIBLE,
            "“Legacy signup” is paused",
        ),
        ({"occurred_at": NOW - timedelta(days=91)}, NOT_ELIGIBLE, "older than 90 days"),
        ({"occurred_at": NOW + timedelta(hours=1)}, WAITING, "in the future"),
        ({"click": None}, NOT_ELIGIBLE, "No Microsoft click id"),
        (
            {"click": None, "click_after_conversion": True},
            NOT_ELIGIBLE,
            "happened before the visitor's Microsoft ad click",
        ),
        (
            {"click": Click("b" * 32, NOW - timedelta(minutes=20))},
            WAITING,
            "less than 5 hours old",
        ),
        (
            {"goal": GoalFacts("Demo booked", True, "Active", False, created_at=NOW)},
            WAITING,
            "less than two hours old",
        ),
        (
            {
                "goal": GoalFacts(
                    "Demo booked", True, "Active", False, too_recent_until=NOW + timedelta(hours=1)
                )
            },
            WAITING,
            "less than two hours old",
        ),
        ({"click": None, "has_hash": True}, NOT_ELIGIBLE, "Turning on enhanced conversions"),
        (
            {"click": None, "has_hash": True, "enhanced_opt_in": True},
            NOT_ELIGIBLE,
            "does not have enhanced conversions enabled",
        ),
    ],
)
def test_each_state_comes_with_its_reason(kwargs: dict, state: str, words: str) -> None:
    v = verdict(**kwargs)
    assert v.state == state
    assert words in wording(MicrosoftAdsPlatform(), v.code, v.facts).text


def test_reasons_are_codes_and_the_plugin_words_them() -> None:
    v = verdict(click=None, click_params=("msclkid",))
    assert v.code is Reason.NO_CLICK
    microsoft = wording(MicrosoftAdsPlatform(), v.code, v.facts)
    assert "msclkid" in microsoft.fix and "auto-tagging" in microsoft.fix
    # A plugin without wording of its own gets the host's, which names it and its parameters
    # only, never another platform.
    example = wording(ExampleAdsPlatform(), v.code, v.facts.__class__(click_params=("exclid",)))
    assert "Example Ads" in example.text and "exclid" in example.text
    assert "Microsoft" not in example.text + example.fix and "msclkid" not in example.fix
    for reason in Reason:
        generic = generic_wording(reason, v.facts, "Acme Ads")
        assert generic.text and "Microsoft" not in generic.text + generic.fix


def test_waiting_says_when_to_try_again() -> None:
    clicked = NOW - timedelta(minutes=20)
    v = verdict(click=Click("b" * 32, clicked))
    assert v.retry_at == clicked + timedelta(hours=5)  # the plugin's default wait


def test_the_wait_after_the_click_is_the_plugins_setting() -> None:
    rules = MicrosoftAdsPlatform({"MSADS_CLICK_WAIT_MINUTES": "60"}).upload_rules
    clicked = NOW - timedelta(minutes=20)
    v = verdict(rules=rules, click=Click("b" * 32, clicked))
    assert v.state == WAITING and "less than an hour old" in words(v)
    assert v.retry_at == clicked + timedelta(hours=1)
    assert verdict(rules=rules, click=Click("b" * 32, NOW - timedelta(hours=2))).eligible


def test_hash_only_goes_only_to_enhanced_goals_and_only_when_opted_in() -> None:
    settled = NOW - timedelta(hours=6)
    v = verdict(click=None, goal=ENHANCED, has_hash=True, enhanced_opt_in=True, occurred_at=settled)
    assert (v.state, v.hash_only, v.click_id) == (ELIGIBLE, True, None)
    assert verdict(click=None, goal=ENHANCED, has_hash=True).state == NOT_ELIGIBLE
    assert verdict(click=None, goal=ENHANCED, enhanced_opt_in=True).state == NOT_ELIGIBLE


def test_a_click_of_unknown_time_waits_the_same_after_the_conversion() -> None:
    """A click id sent with the conversion (or a match by hash) has no known click time; the
    click came before the conversion, so waiting after the conversion is sure to be enough."""
    occurred = NOW - timedelta(hours=3)
    v = verdict(click=Click("c" * 32, None), occurred_at=occurred)
    assert v.state == WAITING and "time of the ad click is unknown" in words(v)
    assert v.retry_at == occurred + timedelta(hours=5) and v.click_id == "c" * 32
    assert verdict(click=Click("c" * 32, None), occurred_at=NOW - timedelta(hours=6)).eligible
    by_hash = verdict(
        click=None, goal=ENHANCED, has_hash=True, enhanced_opt_in=True, occurred_at=occurred
    )
    assert (by_hash.state, by_hash.hash_only) == (WAITING, True)


def test_the_most_recent_click_before_the_conversion_within_90_days_wins() -> None:
    occurred = NOW
    clicks = [
        (NOW - timedelta(days=100), "too-old"),
        (NOW - timedelta(days=10), "older"),
        (NOW - timedelta(days=1), "newest-before"),
        (NOW + timedelta(hours=1), "after"),
    ]
    found = best_click(clicks, occurred, timedelta(days=90))
    assert found.click == Click("newest-before", NOW - timedelta(days=1))
    assert not found.click_after_conversion
    only_after = best_click([(NOW + timedelta(hours=1), "after")], occurred, timedelta(days=90))
    assert only_after.click is None and only_after.click_after_conversion
    only_old = best_click([(NOW - timedelta(days=91), "old")], occurred, timedelta(days=90))
    assert only_old.click is None and not only_old.click_after_conversion
