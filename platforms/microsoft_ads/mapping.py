"""Pure conversions between Microsoft's JSON and the interface's value types.

No I/O here, so every rule (what makes an account ineligible, how a time is written, which row an
error belongs to) is tested without a network. Field names and value types follow the msads
models: ids are JSON strings, money and credits are JSON numbers, times are UTC ISO 8601 with Z.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from platforms.base import (
    AccountRef,
    AdAccount,
    ConversionAdjustment,
    ConversionGoal,
    ConversionUpload,
    DailyMetric,
    Entity,
    EntityLevel,
    PushOutcome,
)
from platforms.microsoft_ads.explanations import (
    LOCAL_BAD_ADJUSTMENT,
    LOCAL_NAIVE_TIME,
    LOCAL_NO_IDENTIFIER,
    LOCAL_NOT_HASHED,
    explain,
)
from platforms.microsoft_ads.faults import parse_errors
from platforms.microsoft_ads.hashing import looks_hashed

# --- accounts -------------------------------------------------------------------------------

VIEWER_ROLE_ID = 100  # read-only role: can see the account but cannot upload conversions
_PAUSE_REASONS = {
    1: "paused by a user",
    2: "paused for billing",
    4: "paused by a user and for billing",
}
_STATUS_REASONS = {
    "Draft": "The account is a draft and not yet set up in Microsoft Advertising.",
    "Inactive": "The account is inactive in Microsoft Advertising.",
    "Pending": "The account is pending approval in Microsoft Advertising.",
    "Suspended": "The account is suspended by Microsoft Advertising.",
}
MANAGER_REASON = (
    "This is a manager account. Offline conversions go to the ad account that owns the clicks: "
    "pick one of the ad accounts under it."
)


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def account_ineligible_reason(account: Mapping[str, Any], *, read_only: bool) -> str | None:
    """Why this ad account cannot take offline conversions through us, or None."""
    status = str(account.get("AccountLifeCycleStatus") or "Active")
    pause = account.get("PauseReason")
    if status == "Pause" or (pause not in (None, 0, "0") and status == "Active"):
        reason = _PAUSE_REASONS.get(int(str(pause)), "paused") if str(pause).isdigit() else "paused"
        return f"The account is {reason} in Microsoft Advertising. Resume it to connect it."
    if status != "Active":
        return _STATUS_REASONS.get(status, f"The account status is {status}.")
    if read_only:
        return (
            "Your Microsoft Advertising user has read-only (Viewer) access to this account, "
            "which cannot upload conversions. Ask an account admin for a Standard role."
        )
    return None


def read_only_accounts(customer_roles: Iterable[Mapping[str, Any]]) -> set[tuple[str, str | None]]:
    """(customer id, account id or None for all) pairs the user reaches only as a Viewer."""
    viewer: set[tuple[str, str | None]] = set()
    writable: set[tuple[str, str | None]] = set()
    for role in customer_roles:
        customer = _text(role.get("CustomerId"))
        if customer is None:
            continue
        ids: list[str | None] = [str(i) for i in (role.get("AccountIds") or [])] or [None]
        target = viewer if role.get("RoleId") == VIEWER_ROLE_ID else writable
        target.update((customer, account_id) for account_id in ids)
    return viewer - writable


def is_read_only(
    account_id: str, customer_id: str | None, viewer_pairs: set[tuple[str, str | None]]
) -> bool:
    if customer_id is None:
        return False
    return (customer_id, account_id) in viewer_pairs or (customer_id, None) in viewer_pairs


def ad_account_from_json(
    account: Mapping[str, Any],
    *,
    manager_names: Mapping[str, str],
    viewer_pairs: set[tuple[str, str | None]] = frozenset(),  # type: ignore[assignment]
) -> AdAccount:
    account_id = str(account["Id"])
    customer_id = _text(account.get("ParentCustomerId"))
    return AdAccount(
        ref=AccountRef(account_id=account_id, customer_id=customer_id),
        name=str(account.get("Name") or account_id),
        number=_text(account.get("Number")),
        currency=_text(account.get("CurrencyCode")),
        time_zone=_text(account.get("TimeZone")),
        status=str(account.get("AccountLifeCycleStatus") or "Active"),
        manager_id=customer_id,
        manager_name=manager_names.get(customer_id) if customer_id else None,
        is_manager=False,
        ineligible_reason=account_ineligible_reason(
            account, read_only=is_read_only(account_id, customer_id, viewer_pairs)
        ),
    )


def manager_account(customer_id: str, name: str | None) -> AdAccount:
    """A manager account (Microsoft "customer") as a picker row that cannot be chosen."""
    return AdAccount(
        ref=AccountRef(account_id=customer_id, customer_id=None),
        name=name or f"Manager account {customer_id}",
        status="Active",
        is_manager=True,
        ineligible_reason=MANAGER_REASON,
    )


def group_by_manager(
    accounts: Sequence[AdAccount], manager_names: Mapping[str, str]
) -> list[AdAccount]:
    """Each manager row followed by its ad accounts, managers and accounts sorted by name."""
    by_manager: dict[str | None, list[AdAccount]] = {}
    for acc in accounts:
        by_manager.setdefault(acc.manager_id, []).append(acc)
    managers = sorted(
        (m for m in by_manager if m is not None),
        key=lambda m: (manager_names.get(m, "").lower(), m),
    )
    result: list[AdAccount] = []
    for manager_id in [*managers, None]:
        members = by_manager.get(manager_id)
        if not members:
            continue
        if manager_id is not None:
            result.append(manager_account(manager_id, manager_names.get(manager_id)))
        result.extend(sorted(members, key=lambda a: (a.name.lower(), a.ref.account_id)))
    return result


# --- conversion goals -------------------------------------------------------------------------


def goal_from_json(goal: Mapping[str, Any]) -> ConversionGoal:
    """Microsoft exposes no creation time for goals, so ``created_at`` stays None (the host
    should remember when it first saw a goal to apply the two-hour rule)."""
    status = str(goal.get("Status") or "Active")
    return ConversionGoal(
        id=str(goal["Id"]),
        name=str(goal.get("Name") or ""),
        status=status,
        count_type=_text(goal.get("CountType")),
        created_at=None,
        is_active=status == "Active",
        enhanced_conversions=goal.get("IsEnhancedConversionsEnabled") is True,
        external_attribution=goal.get("IsExternallyAttributed") is True,
    )


# --- conversions ------------------------------------------------------------------------------


def utc_iso(moment: datetime) -> str:
    """UTC with a ``Z``, to the second: what Microsoft's examples use and dedupe on.

    Sub-second precision is dropped on purpose so that the same conversion always produces the
    same ``ConversionTime`` (Microsoft's duplicate key and the key adjustments quote)."""
    if moment.tzinfo is not UTC:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive datetime: the interface requires timezone-aware UTC times")
        moment = moment.astimezone(UTC)
    # isoformat is C-fast where strftime is not; a push writes a thousand of these per call.
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _number(value: Decimal) -> float:
    return float(value)


def _row_problem(
    click_id: str | None,
    hashed_email: str | None,
    hashed_phone: str | None,
    times: Iterable[datetime],
) -> str | None:
    if any(t.tzinfo is None or t.utcoffset() is None for t in times):
        return LOCAL_NAIVE_TIME
    if not (click_id or hashed_email or hashed_phone):
        return LOCAL_NO_IDENTIFIER
    if any(h and not looks_hashed(h) for h in (hashed_email, hashed_phone)):
        return LOCAL_NOT_HASHED
    return None


def conversion_problem(row: ConversionUpload) -> str | None:
    """A local error code when the row cannot be sent as is, else None."""
    return _row_problem(row.click_id, row.hashed_email, row.hashed_phone, [row.occurred_at])


def adjustment_problem(row: ConversionAdjustment) -> str | None:
    """As for a conversion: a click id or a hash identifies the original (Microsoft's
    ``OfflineConversionAdjustment`` takes the same identifiers as ``OfflineConversion``)."""
    problem = _row_problem(
        row.click_id, row.hashed_email, row.hashed_phone, [row.occurred_at, row.adjusted_at]
    )
    if problem:
        return problem
    if (row.kind == "restate") != (row.value is not None):
        return LOCAL_BAD_ADJUSTMENT
    return None


def conversion_to_json(row: ConversionUpload) -> dict[str, Any]:
    """One ``OfflineConversion``; unset optional fields are omitted, as the msads SDK does."""
    body: dict[str, Any] = {}
    if row.click_id:
        body["MicrosoftClickId"] = row.click_id.strip()
    body["ConversionName"] = row.goal_name
    body["ConversionTime"] = utc_iso(row.occurred_at)
    if row.value is not None:
        body["ConversionValue"] = _number(row.value)
    if row.currency:
        body["ConversionCurrencyCode"] = row.currency.strip().upper()
    if row.attribution_credit is not None:
        body["ExternalAttributionCredit"] = _number(row.attribution_credit)
    if row.attribution_model:
        body["ExternalAttributionModel"] = row.attribution_model
    if row.hashed_email:
        body["HashedEmailAddress"] = row.hashed_email.lower()
    if row.hashed_phone:
        body["HashedPhoneNumber"] = row.hashed_phone.lower()
    return body


def adjustment_to_json(row: ConversionAdjustment) -> dict[str, Any]:
    """One ``OfflineConversionAdjustment``; a Retract carries no value (else error 5624).

    It quotes the original's identifiers: the click id, and the hashes an enhanced conversion was
    sent with (Microsoft's duplicate key includes them, and a hashed-only conversion has nothing
    else to be found by)."""
    body: dict[str, Any] = {}
    if row.click_id:
        body["MicrosoftClickId"] = row.click_id.strip()
    body["ConversionName"] = row.goal_name
    body["ConversionTime"] = utc_iso(row.occurred_at)
    body["AdjustmentType"] = "Restate" if row.kind == "restate" else "Retract"
    body["AdjustmentTime"] = utc_iso(row.adjusted_at)
    if row.kind == "restate" and row.value is not None:
        body["AdjustmentValue"] = _number(row.value)
        if row.currency:
            body["AdjustmentCurrencyCode"] = row.currency.strip().upper()
    if row.hashed_email:
        body["HashedEmailAddress"] = row.hashed_email.lower()
    if row.hashed_phone:
        body["HashedPhoneNumber"] = row.hashed_phone.lower()
    return body


def local_rejection(row_id: int, code: str) -> PushOutcome:
    return PushOutcome(row_id, False, code, explain(code))


def outcomes_from_partial_errors(
    row_ids: Sequence[int], partial_errors: Any
) -> dict[int, PushOutcome]:
    """Outcome per *sent* row id: ``PartialErrors[].Index`` is the zero-based request index.

    Several errors for one row are joined. An error that names no row (``Index`` missing, or
    outside the request) cannot be placed, and dropping it would record a refused row as
    accepted; so it marks every row that has no error of its own as refused with it. Resending
    the good ones later is harmless: Microsoft ignores a repeat of an accepted conversion."""
    errors_by_index: dict[int, list[tuple[str | None, str]]] = {}
    unplaced: list[tuple[str | None, str]] = []
    for err in parse_errors(partial_errors):
        code = str(err.code) if err.code is not None else err.error_code
        if err.index is None or not 0 <= err.index < len(row_ids):
            unplaced.append((code, err.message))
            continue
        errors_by_index.setdefault(err.index, []).append((code, err.message))
    outcomes: dict[int, PushOutcome] = {}
    for index, row_id in enumerate(row_ids):
        errors = errors_by_index.get(index)
        if not errors and unplaced:
            message = " ".join(explain(c, m) for c, m in unplaced)
            outcomes[row_id] = PushOutcome(
                row_id,
                False,
                unplaced[0][0],
                "Microsoft refused a row of this upload without saying which one: " + message,
            )
            continue
        if not errors:
            outcomes[row_id] = PushOutcome(row_id, True)
            continue
        code = errors[0][0]
        message = " ".join(explain(c, m) for c, m in errors)
        outcomes[row_id] = PushOutcome(row_id, False, code, message)
    return outcomes


# --- hierarchy --------------------------------------------------------------------------------


def campaign_entity(campaign: Mapping[str, Any]) -> Entity:
    return Entity(
        level="campaign",
        id=str(campaign["Id"]),
        name=str(campaign.get("Name") or campaign["Id"]),
        status=str(campaign.get("Status") or "Unknown"),
        parent_id=None,
        kind=_text(campaign.get("CampaignType")),
    )


def ad_group_entity(ad_group: Mapping[str, Any], campaign_id: str) -> Entity:
    return Entity(
        level="ad_group",
        id=str(ad_group["Id"]),
        name=str(ad_group.get("Name") or ad_group["Id"]),
        status=str(ad_group.get("Status") or "Unknown"),
        parent_id=campaign_id,
        kind=_text(ad_group.get("AdGroupType")),
    )


def _first_asset_text(assets: Any) -> str | None:
    if isinstance(assets, list):
        for link in assets:
            asset = link.get("Asset") if isinstance(link, Mapping) else None
            if isinstance(asset, Mapping) and asset.get("Text"):
                return str(asset["Text"])
    return None


def ad_name(ad: Mapping[str, Any]) -> str:
    """Ads have no name in Microsoft Advertising; show what a marketer recognises: a headline."""
    for candidate in (
        _first_asset_text(ad.get("Headlines")),
        ad.get("TitlePart1"),
        ad.get("Title"),
        ad.get("ShortHeadline"),
        ad.get("HeadlinePart1") if isinstance(ad.get("HeadlinePart1"), str) else None,
    ):
        if candidate:
            return str(candidate)
    return f"{ad.get('Type') or 'Ad'} ad {ad['Id']}"


def ad_entity(ad: Mapping[str, Any], ad_group_id: str) -> Entity:
    return Entity(
        level="ad",
        id=str(ad["Id"]),
        name=ad_name(ad),
        status=str(ad.get("Status") or "Unknown"),
        parent_id=ad_group_id,
        kind=_text(ad.get("Type")),
    )


# --- report rows ------------------------------------------------------------------------------

_EMPTY = {"", "--", "-"}


def report_decimal(raw: str | None) -> Decimal:
    """A report number: ``--`` and empty are zero; ``,`` thousands separators and ``%`` go."""
    text = (raw or "").strip().replace(",", "").rstrip("%").strip()
    if text in _EMPTY:
        return Decimal(0)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number in the report: {raw!r}") from None


def report_int(raw: str | None) -> int:
    return int(report_decimal(raw).to_integral_value())


def report_date(raw: str) -> date:
    """``yyyy-mm-dd`` (FormatVersion 2.0) or ``M/D/YYYY`` (1.0) for daily rows."""
    text = raw.strip()
    if "/" in text:
        month, day, year = (int(p) for p in text.split(" ", 1)[0].split("/"))
        return date(year, month, day)
    return date.fromisoformat(text[:10])


LEVEL_ID_COLUMN: dict[EntityLevel, str] = {
    "campaign": "CampaignId",
    "ad_group": "AdGroupId",
    "ad": "AdId",
}


def metric_from_row(level: EntityLevel, row: Mapping[str, str], currency: str) -> DailyMetric:
    """One report row; ``currency`` is the account's, used when the row has no CurrencyCode."""
    return DailyMetric(
        level=level,
        entity_id=str(row[LEVEL_ID_COLUMN[level]]).strip(),
        day=report_date(row["TimePeriod"]),
        impressions=report_int(row.get("Impressions")),
        clicks=report_int(row.get("Clicks")),
        spend=report_decimal(row.get("Spend")),
        currency=(row.get("CurrencyCode") or "").strip() or currency,
        conversions=report_decimal(row.get("ConversionsQualified")),
        revenue=report_decimal(row.get("Revenue")),
    )


# Account TimeZone names that ReportTimeZone spells differently (fact sheet reporting §4.2).
_REPORT_TIME_ZONE_SPELLING = {
    "AthensBuckarestIstanbul": "AthensIslandanbulMinsk",
    "IslamabadKarachiTashkent": "IslandamabadKarachiTashkent",
    "MidwayIslandAndSamoa": "MidwayIslandandSamoa",
    "SolomonIslandNewCaledonia": "MagadanSolomonIslandNewCaledonia",
}
DEFAULT_TIME_ZONE = "PacificTimeUSCanadaTijuana"  # Microsoft's default for accounts and reports


def report_time_zone(account_time_zone: str | None) -> str:
    name = account_time_zone or DEFAULT_TIME_ZONE
    return _REPORT_TIME_ZONE_SPELLING.get(name, name)
