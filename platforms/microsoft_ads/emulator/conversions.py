"""Campaign Management v13 offline-conversion operations and their diagnostics.

Every row received is kept (accepted, duplicate or rejected) so the control API can hand
the whole history back to a test; the diagnostics operation summarises the same records.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, g

from .conversion_rules import (
    RowError,
    attribution,
    check_external_attribution,
    check_identifiers,
    check_time,
    check_value,
    dedup_key,
    find_goal,
    parse_time,
)
from .customer import flags
from .entities import Account, Goal
from .faults import batch_error, operation_fault
from .guard import CallContext, api_operation, require_account
from .state import iso

bp = Blueprint("conversions", __name__, url_prefix="/CampaignManagement/v13")
SERVICE = "campaign"
MAX_ROWS = 1000


def goal_json(goal: Goal, extra: set[str]) -> dict[str, Any]:
    revenue: dict[str, Any] = {
        "Type": goal.revenue_type,
        "Value": None,
        "CurrencyCode": goal.currency,
    }
    if goal.revenue_value is not None:
        revenue["Value"] = float(goal.revenue_value)
    body: dict[str, Any] = {
        "Type": "OfflineConversion",
        "Id": goal.id,
        "Name": goal.name,
        "Status": goal.status,
        "Scope": goal.scope,
        "CountType": goal.count_type,
        "ConversionWindowInMinutes": goal.window_minutes,
        "Revenue": revenue,
        "ExcludeFromBidding": goal.exclude_from_bidding,
        "TagId": None,
        "TrackingStatus": None,
    }
    optional = {
        "GoalCategory": goal.category,
        "IsEnhancedConversionsEnabled": goal.enhanced,
        "IsExternallyAttributed": goal.externally_attributed,
        "ViewThroughConversionWindowInMinutes": None,
        "AttributionModelType": None,
        "IsAutoGoal": False,
    }
    body.update({k: v for k, v in optional.items() if k in extra})
    return body


@bp.post("/ConversionGoals/QueryByIds")
@api_operation("GetConversionGoalsByIds", SERVICE)
def goals_by_ids(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    types = flags(body.get("ConversionGoalTypes"))
    if not types:
        raise operation_fault(SERVICE, 201, "ConversionGoalTypes is required.")
    extra = flags(body.get("ReturnAdditionalFields"))
    visible = {g.id: g for g in ctx.world.goals_for_account(account)}
    ids = body.get("ConversionGoalIds") or []
    if len(ids) > 100:
        raise operation_fault(SERVICE, 513)
    if not ids:
        goals = [g for g in visible.values()] if "OfflineConversion" in types else []
        return {"ConversionGoals": [goal_json(g, extra) for g in sorted(goals, key=lambda g: g.id)],
                "PartialErrors": []}  # fmt: skip
    found: list[dict[str, Any] | None] = []
    errors: list[dict[str, Any]] = []
    for index, goal_id in enumerate(ids):
        goal = visible.get(str(goal_id))
        if goal is None or "OfflineConversion" not in types:
            found.append(None)
            errors.append(batch_error(index, 517, f"Conversion goal {goal_id} was not found."))
        else:
            found.append(goal_json(goal, extra))
    return {"ConversionGoals": found, "PartialErrors": errors}


def _check_batch(rows: Any) -> list[Any]:
    if not isinstance(rows, list) or not rows:
        raise operation_fault(SERVICE, 5600)
    if len(rows) > MAX_ROWS:
        raise operation_fault(SERVICE, 5601)
    return rows


def _record(ctx: CallContext, account: Account, index: int, row: Any) -> dict[str, Any]:
    now = ctx.world.now()
    delay = timedelta(minutes=ctx.world.attribution_delay_minutes)
    return {
        "Index": index,
        "AccountId": account.id,
        "CustomerId": account.parent_customer_id,
        "UserId": ctx.user.id,
        "ReceivedAt": iso(now),
        "ProcessedAt": iso(now + delay),
        "Request": row,
        "Status": "Accepted",
        "ErrorCode": None,
        "GoalId": None,
        "UnattributedReason": None,
    }


def _apply_one(ctx: CallContext, account: Account, row: Any, record: dict[str, Any]) -> None:
    world, now = ctx.world, ctx.world.now()
    if not isinstance(row, dict):
        raise RowError(5602)
    goal = find_goal(world, account, row.get("ConversionName"))
    record["GoalId"] = goal.id
    at = parse_time(row.get("ConversionTime"), 5608, 5607)
    check_time(at, now, 5614, 5609)
    if now - goal.created_at < timedelta(minutes=world.config.goal_min_age_minutes):
        raise RowError(5615)
    check_identifiers(row, goal)
    check_external_attribution(row, goal)
    check_value(row, "ConversionValue", "ConversionCurrencyCode")
    key = dedup_key(account, goal, row, at)
    if key in world.conversion_keys:
        record["Status"] = "Duplicate"  # Microsoft silently keeps the first one
        record["UnattributedReason"] = "DuplicateConversionKey"
        return
    world.conversion_keys[key] = record
    record["ConversionTimeUtc"] = iso(at)
    record["UnattributedReason"] = attribution(world, account, goal, row, at)


@bp.post("/OfflineConversions/Apply")
@api_operation("ApplyOfflineConversions", SERVICE)
def apply_offline_conversions(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    rows = _check_batch(body.get("OfflineConversions"))
    errors = []
    for index, row in enumerate(rows):
        record = _record(ctx, account, index, row)
        try:
            _apply_one(ctx, account, row, record)
        except RowError as err:
            record.update(Status="Rejected", ErrorCode=err.code)
            errors.append(err.as_batch_error(index))
        ctx.world.conversions.append(record)
    return {"PartialErrors": _maybe_unindexed(errors)}


def _adjust_one(ctx: CallContext, account: Account, row: Any, record: dict[str, Any]) -> None:
    world, now = ctx.world, ctx.world.now()
    if not isinstance(row, dict):
        raise RowError(5602)
    kind = row.get("AdjustmentType")
    if kind not in ("Restate", "Retract"):
        raise RowError(5618)
    goal = find_goal(world, account, row.get("ConversionName"))
    record["GoalId"] = goal.id
    at = parse_time(row.get("ConversionTime"), 5608, 5607)
    check_time(at, now, 5614, 5609)
    adjusted = parse_time(row.get("AdjustmentTime"), 5619, 5621)
    check_time(adjusted, now, 5622, 5623)
    if adjusted < at:
        raise RowError(5620)
    check_identifiers(row, goal)
    if kind == "Retract" and row.get("AdjustmentValue") is not None:
        raise RowError(5624)
    if kind == "Restate" and row.get("AdjustmentValue") is None:
        raise RowError(5625)
    check_value(row, "AdjustmentValue", "AdjustmentCurrencyCode")
    original = world.conversion_keys.get(dedup_key(account, goal, row, at))
    if original is None:
        record["UnattributedReason"] = "AdjustmentOriginalNotFound"
    elif original.get("Retracted"):
        record["UnattributedReason"] = "ConversionAlreadyRetracted"
    elif kind == "Retract":
        original["Retracted"] = True
    else:
        original["RestatedValue"] = row.get("AdjustmentValue")


@bp.post("/OfflineConversionAdjustments/Apply")
@api_operation("ApplyOfflineConversionAdjustments", SERVICE)
def apply_adjustments(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    rows = _check_batch(body.get("OfflineConversionAdjustments"))
    errors = []
    for index, row in enumerate(rows):
        record = _record(ctx, account, index, row)
        try:
            _adjust_one(ctx, account, row, record)
        except RowError as err:
            record.update(Status="Rejected", ErrorCode=err.code)
            errors.append(err.as_batch_error(index))
        ctx.world.adjustments.append(record)
    return {"PartialErrors": _maybe_unindexed(errors)}


def _maybe_unindexed(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fault ``unindexed_errors``: the same errors with ``Index`` null, to prove a client never
    takes an error it cannot place for a success."""
    if getattr(g, "unindexed_errors", False):
        return [{**e, "Index": None} for e in errors]
    return errors


def is_pending(record: dict[str, Any], now: datetime) -> bool:
    """Accepted but not yet matched: Microsoft reports nothing about it yet."""
    return record["Status"] != "Rejected" and datetime.fromisoformat(record["ProcessedAt"]) > now


def _alerts(reasons: Counter[str]) -> list[dict[str, Any]]:
    return [{"UnattributedReason": r, "Count": str(n)} for r, n in sorted(reasons.items())]


def _summary(goal: Goal, records: list[dict[str, Any]]) -> dict[str, Any]:
    by_day: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        by_day.setdefault(rec["ReceivedAt"][:10], []).append(rec)
    daily = []
    for day, recs in sorted(by_day.items()):
        ok = sum(1 for r in recs if r["UnattributedReason"] is None)
        bad = Counter(r["UnattributedReason"] for r in recs if r["UnattributedReason"])
        daily.append({"GoalId": goal.id, "UploadDate": f"{day}T00:00:00", "SuccessCount": ok,
                      "UnattributedCount": sum(bad.values()),
                      "SuccessRate": round(ok / len(recs), 4), "Alerts": _alerts(bad)})  # fmt: skip
    ok = sum(1 for r in records if r["UnattributedReason"] is None)
    bad = Counter(r["UnattributedReason"] for r in records if r["UnattributedReason"])
    return {
        "GoalId": goal.id,
        "ConversionName": goal.name,
        "OverallSuccessCount": str(ok),
        "OverallUnattributedCount": str(sum(bad.values())),
        "OverallSuccessRate": round(ok / len(records), 4) if records else 0.0,
        "OverallAlerts": _alerts(bad),
        "DailySummaries": daily,
    }


@bp.post("/OfflineConversionReport/QueryByGoalIds")
@api_operation("GetOfflineConversionReportByGoalIds", SERVICE)
def offline_conversion_report(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    account = require_account(ctx)
    # Moments, not days: Microsoft does not say which it means, and reading EndDateUtc as a
    # moment is the stricter of the two (midnight at the start of the last day leaves it out).
    try:
        start = parse_time(body.get("StartDateUtc"), 201, 201)
        end = parse_time(body.get("EndDateUtc"), 201, 201)
    except RowError:
        raise operation_fault(
            SERVICE, 201, "StartDateUtc and EndDateUtc are required dates."
        ) from None
    if end < start or end - start > timedelta(days=7):
        raise operation_fault(SERVICE, 201, "The date range must be at most 7 days.")
    goal_ids = body.get("GoalIds") or []
    if not goal_ids or len(goal_ids) > 20:
        raise operation_fault(SERVICE, 201, "GoalIds must hold 1 to 20 ids.")
    visible = {g.id: g for g in ctx.world.goals_for_account(account)}
    summaries, errors = [], []
    for index, goal_id in enumerate(goal_ids):
        goal = visible.get(str(goal_id))
        if goal is None:
            errors.append(batch_error(index, 517, f"Goal {goal_id} was not found."))
            continue
        now = ctx.world.now()
        records = [
            r
            for r in ctx.world.conversions + ctx.world.adjustments
            if r["GoalId"] == goal.id and r["AccountId"] == account.id and r["Status"] != "Rejected"
            and start <= datetime.fromisoformat(r["ReceivedAt"]) <= end
            and not is_pending(r, now)
        ]  # fmt: skip
        summaries.append(_summary(goal, records))
    return {"OfflineGoalConversionSummaries": summaries, "PartialErrors": errors}
