"""Microsoft's own view of uploaded offline conversions (GetOfflineConversionReportByGoalIds).

A successful Apply only proves the row was well formed: unknown or old click ids are accepted and
silently not attributed. This report says how many conversions Microsoft attributed per goal and
day and why the others were not, which answers "we sent it, why don't I see it?".
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from platforms.base import DailyDiagnostics, DateWindow, GoalDiagnostics, chunked

PATH = "/CampaignManagement/v13/OfflineConversionReport/QueryByGoalIds"
MAX_GOALS = 20  # per call (Microsoft's limit)
MAX_DAYS = 7  # per call: EndDateUtc - StartDateUtc may not exceed 7 days


def windows(window: DateWindow) -> Iterator[tuple[date, date]]:
    """Split a window into (start, end) pairs no longer than Microsoft's 7-day limit."""
    start = window.start
    while start <= window.end:
        end = min(start + timedelta(days=MAX_DAYS - 1), window.end)
        yield start, end
        start = end + timedelta(days=1)


def request_body(goal_ids: Sequence[str], start: date, end: date) -> dict[str, Any]:
    return {
        "StartDateUtc": f"{start.isoformat()}T00:00:00Z",
        "EndDateUtc": f"{end.isoformat()}T00:00:00Z",
        "GoalIds": [str(g) for g in goal_ids],
    }


def requests_for(goal_ids: Sequence[str], window: DateWindow) -> Iterator[dict[str, Any]]:
    for start, end in windows(window):
        for goals in chunked(goal_ids, MAX_GOALS):
            yield request_body(goals, start, end)


def _count(value: Any) -> int:
    """Counts arrive as JSON strings (longs) or numbers depending on the field."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _reasons(alerts: Any) -> dict[str, int]:
    reasons: dict[str, int] = {}
    for alert in alerts or []:
        if isinstance(alert, Mapping) and alert.get("UnattributedReason"):
            name = str(alert["UnattributedReason"])
            reasons[name] = reasons.get(name, 0) + _count(alert.get("Count"))
    return reasons


def _day(value: Any) -> date | None:
    if not value:
        return None
    text = str(value)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def merge(responses: Sequence[Mapping[str, Any]]) -> list[GoalDiagnostics]:
    """Sum several responses (one per 7-day slice and 20-goal chunk) into one result per goal."""
    totals: dict[str, dict[str, Any]] = {}
    for response in responses:
        for summary in response.get("OfflineGoalConversionSummaries") or []:
            if not isinstance(summary, Mapping) or summary.get("GoalId") is None:
                continue
            goal_id = str(summary["GoalId"])
            entry = totals.setdefault(
                goal_id,
                {"name": "", "success": 0, "unattributed": 0, "reasons": {}, "days": []},
            )
            entry["name"] = entry["name"] or str(summary.get("ConversionName") or "")
            entry["success"] += _count(summary.get("OverallSuccessCount"))
            entry["unattributed"] += _count(summary.get("OverallUnattributedCount"))
            for reason, count in _reasons(summary.get("OverallAlerts")).items():
                entry["reasons"][reason] = entry["reasons"].get(reason, 0) + count
            for daily in summary.get("DailySummaries") or []:
                day = _day(daily.get("UploadDate")) if isinstance(daily, Mapping) else None
                if day is None:
                    continue
                entry["days"].append(
                    DailyDiagnostics(
                        goal_id=goal_id,
                        day=day,
                        success_count=_count(daily.get("SuccessCount")),
                        unattributed_count=_count(daily.get("UnattributedCount")),
                        reasons=_reasons(daily.get("Alerts")),
                    )
                )
    return [
        GoalDiagnostics(
            goal_id=goal_id,
            goal_name=entry["name"],
            success_count=entry["success"],
            unattributed_count=entry["unattributed"],
            reasons=dict(entry["reasons"]),
            days=tuple(sorted(entry["days"], key=lambda d: d.day)),
        )
        for goal_id, entry in totals.items()
    ]
