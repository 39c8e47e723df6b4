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
    """``EndDateUtc`` is midnight *after* the last day.

    Microsoft does not say whether it reads ``EndDateUtc`` as a day (inclusive) or as a moment.
    Read as a moment, midnight at the start of the last day would drop that whole day; so we
    ask up to the following midnight, which covers the last day either way. Read as a day, the
    answer then holds one day too many, which ``merge`` drops (and counts once where two slices
    overlap). The span is still at most 7 days."""
    return {
        "StartDateUtc": f"{start.isoformat()}T00:00:00Z",
        "EndDateUtc": f"{(end + timedelta(days=1)).isoformat()}T00:00:00Z",
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


def merge(
    responses: Sequence[Mapping[str, Any]], window: DateWindow | None = None
) -> list[GoalDiagnostics]:
    """One result per goal from several responses (7-day slices x 20-goal chunks).

    Daily rows are the truth: each (goal, day) counts once even when two slices both return it,
    and days outside ``window`` are dropped; the goal's totals are the sum of its days. Only a
    goal answered without daily rows falls back to the ``Overall*`` fields."""
    names: dict[str, str] = {}
    days: dict[str, dict[date, DailyDiagnostics]] = {}
    overall: dict[str, dict[str, Any]] = {}
    for response in responses:
        for summary in response.get("OfflineGoalConversionSummaries") or []:
            if not isinstance(summary, Mapping) or summary.get("GoalId") is None:
                continue
            goal_id = str(summary["GoalId"])
            names[goal_id] = names.get(goal_id) or str(summary.get("ConversionName") or "")
            entry = overall.setdefault(goal_id, {"success": 0, "unattributed": 0, "reasons": {}})
            entry["success"] += _count(summary.get("OverallSuccessCount"))
            entry["unattributed"] += _count(summary.get("OverallUnattributedCount"))
            for reason, count in _reasons(summary.get("OverallAlerts")).items():
                entry["reasons"][reason] = entry["reasons"].get(reason, 0) + count
            goal_days = days.setdefault(goal_id, {})
            for daily in summary.get("DailySummaries") or []:
                day = _day(daily.get("UploadDate")) if isinstance(daily, Mapping) else None
                if day is None:
                    continue
                row = DailyDiagnostics(
                    goal_id=goal_id,
                    day=day,
                    success_count=_count(daily.get("SuccessCount")),
                    unattributed_count=_count(daily.get("UnattributedCount")),
                    reasons=_reasons(daily.get("Alerts")),
                )
                seen = goal_days.get(day)
                if seen is None or _size(row) > _size(seen):
                    goal_days[day] = row
    results = []
    for goal_id, name in names.items():
        kept = sorted(
            (
                d
                for d in days.get(goal_id, {}).values()
                if window is None or window.start <= d.day <= window.end
            ),
            key=lambda d: d.day,
        )
        if days.get(goal_id):
            reasons: dict[str, int] = {}
            for d in kept:
                for reason, count in d.reasons.items():
                    reasons[reason] = reasons.get(reason, 0) + count
            success = sum(d.success_count for d in kept)
            unattributed = sum(d.unattributed_count for d in kept)
        else:
            success = overall[goal_id]["success"]
            unattributed = overall[goal_id]["unattributed"]
            reasons = dict(overall[goal_id]["reasons"])
        results.append(
            GoalDiagnostics(
                goal_id=goal_id,
                goal_name=name,
                success_count=success,
                unattributed_count=unattributed,
                reasons=reasons,
                days=tuple(kept),
            )
        )
    return results


def _size(day: DailyDiagnostics) -> int:
    return day.success_count + day.unattributed_count
