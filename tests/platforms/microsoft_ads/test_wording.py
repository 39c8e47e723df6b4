"""Microsoft's enum values in words (issue 12, item 10)."""

from __future__ import annotations

import pytest

from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform


@pytest.mark.parametrize(
    ("kind", "value", "words"),
    [
        ("time_zone", "PacificTimeUSCanadaTijuana", "Pacific Time (US & Canada), Tijuana"),
        ("time_zone", "EasternTimeUSCanada", "Eastern Time (US & Canada)"),
        (
            "time_zone",
            "GreenwichMeanTimeDublinEdinburghLisbonLondon",
            "Greenwich Mean Time: Dublin, Edinburgh, Lisbon, London",
        ),
        ("time_zone", "MidwayIslandAndSamoa", "Midway Island and Samoa"),
        ("account_status", "Pause", "Paused"),
        ("account_status", "Pending", "Pending approval"),
        ("goal_status", "InActive", "Inactive"),
        ("entity_status", "BudgetPaused", "Paused: budget spent"),
        ("entity_status", "SomeFutureStatus", "Some future status"),
        ("entity_status", None, ""),
    ],
)
def test_enum_values_are_worded_for_people(kind: str, value: str | None, words: str) -> None:
    assert MicrosoftAdsPlatform().label(kind, value) == words  # type: ignore[arg-type]


# Microsoft's OfflineConversionUnattributedReason values (reference sheet §4.7).
UNATTRIBUTED_REASONS = (
    "Unknown", "AdjustmentOriginalNotFound", "ConversionAlreadyRetracted",
    "DuplicateConversionKey", "ConversionTimeExceedsMaxLookback", "ConversionTimeInFuture",
    "GoalNotFoundOrInactive", "ClickTimestampAfterConversion", "NoMatchingClickFound",
    "MissingMatchIdentifiers", "OutsideGoalLookbackWindow", "AccountMismatch", "MalformedData",
    "HistoricalClickDataExpired",
)  # fmt: skip


@pytest.mark.parametrize("reason", UNATTRIBUTED_REASONS)
def test_every_unattributed_reason_has_microsofts_words(reason: str) -> None:
    from platforms.microsoft_ads.explanations import DIAGNOSTIC_REASONS

    words = MicrosoftAdsPlatform().explain_diagnostic(reason)
    assert words == DIAGNOSTIC_REASONS[reason] and words.endswith(".")
    assert reason not in words  # a sentence, not the code again


def test_a_reason_microsoft_adds_later_is_spelled_out() -> None:
    assert MicrosoftAdsPlatform().explain_diagnostic("ClickFromAnotherPlanet") == (
        "Click from another planet"
    )
