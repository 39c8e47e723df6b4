"""Google's per-request processing results added up per goal and day."""

from __future__ import annotations

from datetime import date

from platforms.base import Receipt
from platforms.google_ads import processing

DAY1, DAY2 = date(2026, 11, 29), date(2026, 11, 30)


def status(state: str, total: int | None, **errors: int) -> list[dict]:
    entry: dict = {"requestStatus": state}
    if total is not None:
        entry["eventsIngestionStatus"] = {"recordCount": str(total)}
    if errors:
        entry["errorInfo"] = {
            "errorCounts": [
                {"recordCount": str(n), "reason": f"PROCESSING_ERROR_REASON_{reason}"}
                for reason, n in errors.items()
            ]
        }
    return [entry]


def test_outcome_of_each_state() -> None:
    r = Receipt("req", "700000001", DAY1, rows=5)
    assert processing.outcome(r, status("SUCCESS", 5)) == (5, {})
    assert processing.outcome(r, status("PARTIAL_SUCCESS", 5, INVALID_GCLID=2)) == (
        3,
        {"INVALID_GCLID": 2},
    )
    assert processing.outcome(r, status("PROCESSING", 5)) == (0, {})  # not counted yet
    assert processing.outcome(r, status("FAILED", None)) == (0, {"FAILED": 5})
    assert processing.outcome(r, []) == (0, {})


def test_merge_sums_per_goal_and_day() -> None:
    a = Receipt("a", "1", DAY1, 3)
    b = Receipt("b", "1", DAY1, 2)
    c = Receipt("c", "1", DAY2, 4)
    d = Receipt("d", "2", DAY2, 1)
    goals = processing.merge(
        [
            (a, 3, {}),
            (b, 1, {"TOO_RECENT_CLICK": 1}),
            (c, 2, {"TOO_RECENT_CLICK": 1, "EVENT_TOO_OLD": 1}),
            (d, 0, {"DENIED_CONSENT": 1}),
        ],
        {"1": "Closed won", "2": "Lead"},
    )
    first, second = goals
    assert (first.goal_name, first.success_count, first.unattributed_count) == ("Closed won", 6, 3)
    assert first.reasons == {"TOO_RECENT_CLICK": 2, "EVENT_TOO_OLD": 1}
    assert [(x.day, x.success_count, x.unattributed_count) for x in first.days] == [
        (DAY1, 4, 1),
        (DAY2, 2, 2),
    ]
    assert (second.goal_id, second.unattributed_count, second.reasons) == (
        "2",
        1,
        {"DENIED_CONSENT": 1},
    )


def test_processing_reasons_are_worded_as_google_explains_them() -> None:
    from platforms.google_ads import explanations
    from platforms.google_ads.plugin import GoogleAdsPlatform

    google = GoogleAdsPlatform()
    prefixed = [c for c in explanations.EXPLANATIONS if c.startswith("PROCESSING_ERROR_REASON_")]
    assert prefixed
    for code in prefixed:
        stored = processing.reason_name(code)  # what the host stores
        assert google.explain_diagnostic(stored) == explanations.EXPLANATIONS[code]
    assert "no reason" in google.explain_diagnostic("FAILED")
    assert google.explain_diagnostic("SOME_NEW_REASON") == "Some new reason"
