"""Google's asynchronous processing results (``requestStatus:retrieve``) as the host's per-goal,
per-day diagnostics.

``events:ingest`` only checks a request; Google processes the events later and reports per
request and destination: ``PROCESSING``, then ``SUCCESS``, ``PARTIAL_SUCCESS`` or ``FAILED``
with counts per ``ProcessingErrorReason`` (never which event). The plugin sends one conversion
action per request, so each receipt (request id) belongs to one goal; the host hands over the
receipts with the day their rows were sent, and this module adds them up per goal and day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from platforms.base import DailyDiagnostics, GoalDiagnostics, Receipt

FINAL = frozenset({"SUCCESS", "PARTIAL_SUCCESS", "FAILED"})
_PREFIX = "PROCESSING_ERROR_REASON_"
# At most this many receipts are asked about per pull (one call each; Google's quota for
# non-ingestion calls is shared by the Cloud project): the newest first.
MAX_CHECKS = 500


def _count(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def reason_name(raw: Any) -> str:
    """``PROCESSING_ERROR_REASON_INVALID_GCLID`` → ``INVALID_GCLID`` (shorter on the page; the
    explanations know both)."""
    text = str(raw or "UNKNOWN")
    return text[len(_PREFIX) :] if text.startswith(_PREFIX) else text


def outcome(receipt: Receipt, entries: Sequence[Mapping[str, Any]]) -> tuple[int, dict[str, int]]:
    """(processed successfully, refusals by reason) of one receipt; (0, {}) while processing."""
    entry = next((e for e in entries if isinstance(e, Mapping)), None)
    if entry is None or str(entry.get("requestStatus") or "") not in FINAL:
        return 0, {}
    reasons: dict[str, int] = {}
    for item in (entry.get("errorInfo") or {}).get("errorCounts") or []:
        if isinstance(item, Mapping):
            name = reason_name(item.get("reason"))
            reasons[name] = reasons.get(name, 0) + _count(item.get("recordCount"))
    status = (entry.get("eventsIngestionStatus") or {}).get("recordCount")
    total = _count(status) or receipt.rows
    failed = sum(reasons.values())
    if entry.get("requestStatus") == "FAILED" and not failed:
        reasons, failed = {"FAILED": total}, total
    return max(0, total - failed), reasons


def merge(
    results: Sequence[tuple[Receipt, int, Mapping[str, int]]], names: Mapping[str, str]
) -> list[GoalDiagnostics]:
    """Per goal and day: processed, refused (the host's ``unattributed``) and the reasons."""
    days: dict[str, dict[Any, list[Any]]] = {}
    for receipt, success, reasons in results:
        cell = days.setdefault(receipt.goal_id, {}).setdefault(receipt.day, [0, 0, {}])
        cell[0] += success
        cell[1] += sum(reasons.values())
        for reason, count in reasons.items():
            cell[2][reason] = cell[2].get(reason, 0) + count
    goals = []
    for goal_id, by_day in sorted(days.items()):
        rows = tuple(
            DailyDiagnostics(goal_id, day, success, failed, dict(reasons))
            for day, (success, failed, reasons) in sorted(by_day.items())
        )
        totals: dict[str, int] = {}
        for row in rows:
            for reason, count in row.reasons.items():
                totals[reason] = totals.get(reason, 0) + count
        goals.append(
            GoalDiagnostics(
                goal_id=goal_id,
                goal_name=names.get(goal_id, ""),
                success_count=sum(r.success_count for r in rows),
                unattributed_count=sum(r.unattributed_count for r in rows),
                reasons=totals,
                days=rows,
            )
        )
    return goals
