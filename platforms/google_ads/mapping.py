"""Pure conversions between Google's JSON and the interface's value types.

No I/O here, so every rule (which account is pickable, how an event is written, what makes a row
unsendable) is tested without a network. Google Ads API rows are ``GoogleAdsRow`` JSON (lowerCamel
resource keys, enums as names, int64 as strings); Data Manager bodies are ``IngestEventsRequest``
JSON with enums written as names, the way Google's guides write them.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from platforms.base import (
    AccountRef,
    AdAccount,
    ClickIdParam,
    ConversionAdjustment,
    ConversionGoal,
    ConversionUpload,
)
from platforms.google_ads import explanations as why
from platforms.google_ads.hashing import looks_hashed

MAX_EVENTS = 2000  # per IngestEventsRequest (Data Manager limits page; README)
UPLOAD_CLICKS = "UPLOAD_CLICKS"
_CURRENCY = re.compile(r"^[A-Z]{3}$")

# --- ids ----------------------------------------------------------------------------------------


def customer_id(value: Any) -> str:
    """``customers/1234567890`` or ``123-456-7890`` → ``1234567890``."""
    text = str(value or "").rsplit("/", 1)[-1]
    return text.replace("-", "").strip()


def dashed(customer: str) -> str:
    """``1234567890`` → ``123-456-7890``, as Google Ads shows customer ids."""
    digits = customer_id(customer)
    if len(digits) == 10 and digits.isdigit():
        return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return digits


# --- accounts -----------------------------------------------------------------------------------

MANAGER_REASON = (
    "This is a manager account. Offline conversions go to the Google Ads account that owns the "
    "clicks and the conversion action: pick one of the accounts under it."
)
_STATUS_REASONS = {
    "CANCELED": "The account is cancelled in Google Ads. Reactivate it to connect it.",
    "SUSPENDED": "The account is suspended by Google Ads.",
    "CLOSED": "The account is closed in Google Ads.",
}


@dataclass(frozen=True)
class ClientRow:
    """One ``customer_client`` row as read from a manager (or the account itself, level 0)."""

    id: str
    name: str
    level: int
    manager: bool
    status: str
    currency: str | None
    time_zone: str | None
    test_account: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ClientRow | None:
        client = row.get("customerClient")
        if not isinstance(client, Mapping):
            return None
        ident = customer_id(client.get("id") or client.get("clientCustomer"))
        if not ident:
            return None
        try:
            level = int(client.get("level") or 0)
        except (TypeError, ValueError):
            level = 0
        return cls(
            id=ident,
            name=str(client.get("descriptiveName") or ""),
            level=level,
            manager=client.get("manager") is True,
            status=str(client.get("status") or "ENABLED"),
            currency=_text(client.get("currencyCode")),
            time_zone=_text(client.get("timeZone")),
            test_account=client.get("testAccount") is True,
        )


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def account_reason(client: ClientRow) -> str | None:
    if client.manager:
        return MANAGER_REASON
    if client.status != "ENABLED":
        return _STATUS_REASONS.get(client.status, f"The account status is {client.status}.")
    return None


def ad_account(client: ClientRow, login: str | None, login_name: str | None) -> AdAccount:
    """``login`` is the manager the account is reached through (its ``login-customer-id``);
    None when the signed-in user has access to the account itself."""
    return AdAccount(
        ref=AccountRef(account_id=client.id, customer_id=login),
        name=client.name or f"Google Ads account {dashed(client.id)}",
        number=dashed(client.id),
        currency=client.currency,
        time_zone=client.time_zone,
        status=client.status,
        manager_id=login,
        manager_name=login_name,
        is_manager=client.manager,
        ineligible_reason=account_reason(client),
    )


def unreachable_account(ident: str, message: str) -> AdAccount:
    """An accessible customer whose details Google would not give (e.g. not yet enabled)."""
    return AdAccount(
        ref=AccountRef(account_id=ident),
        name=f"Google Ads account {dashed(ident)}",
        number=dashed(ident),
        status="UNKNOWN",
        ineligible_reason=f"Google Ads did not let us read this account: {message}",
    )


def merge_hierarchy(
    trees: Sequence[tuple[str, Sequence[ClientRow]]],
) -> list[AdAccount]:
    """Accounts from each accessible customer's ``customer_client`` rows, once each.

    ``trees`` is (accessible customer id, its rows). An account the user reaches directly keeps
    no login customer; one reached only through a manager keeps the nearest manager's id as its
    login customer. Managers come first, each followed by the accounts reached through it."""
    direct = {root for root, rows in trees if any(r.id == root for r in rows)}
    best: dict[str, tuple[int, AdAccount]] = {}
    names: dict[str, str] = {}
    for root, rows in trees:
        for row in rows:
            if row.id == root:
                names[root] = row.name
    for root, rows in trees:
        for row in rows:
            if row.id in direct:
                candidate = (0, ad_account(row, None, None)) if row.id == root else None
            else:
                candidate = (row.level, ad_account(row, root, names.get(root)))
            if candidate is None:
                continue
            seen = best.get(row.id)
            if seen is None or candidate[0] < seen[0]:
                best[row.id] = candidate
    accounts = [account for _, account in best.values()]
    return group(accounts)


def group(accounts: Iterable[AdAccount]) -> list[AdAccount]:
    """Top-level accounts (managers first), each manager followed by accounts reached through it."""
    by_login: dict[str | None, list[AdAccount]] = {}
    for acc in accounts:
        by_login.setdefault(acc.ref.customer_id, []).append(acc)

    def key(a: AdAccount) -> tuple[bool, str, str]:
        return (not a.is_manager, a.name.lower(), a.ref.account_id)

    result: list[AdAccount] = []
    for top in sorted(by_login.get(None, []), key=key):
        result.append(top)
        result.extend(sorted(by_login.pop(top.ref.account_id, []), key=key))
    for login, members in by_login.items():
        if login is not None:
            result.extend(sorted(members, key=key))
    return result


# --- goals --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalTarget:
    """Where one conversion action's events go: its id and the account that owns it."""

    id: str
    name: str
    owner: str
    status: str


def goal_target(row: Mapping[str, Any], account_id: str) -> GoalTarget | None:
    action = row.get("conversionAction")
    if not isinstance(action, Mapping) or not action.get("id"):
        return None
    return GoalTarget(
        id=str(action["id"]),
        name=str(action.get("name") or ""),
        owner=customer_id(action.get("ownerCustomer")) or account_id,
        status=str(action.get("status") or "ENABLED"),
    )


def goal_from_target(target: GoalTarget, enhanced: bool) -> ConversionGoal:
    """Google exposes no creation time for a conversion action; HIDDEN actions still record
    conversions (they are only hidden in the UI), REMOVED ones do not."""
    return ConversionGoal(
        id=target.id,
        name=target.name,
        status=target.status,
        count_type=None,
        created_at=None,
        is_active=target.status in ("ENABLED", "HIDDEN"),
        enhanced_conversions=enhanced,
    )


# --- events ------------------------------------------------------------------------------------


def utc_timestamp(moment: datetime) -> str:
    """RFC 3339 UTC to the second (``google.protobuf.Timestamp`` in JSON)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: the interface requires timezone-aware UTC times")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def transaction_id(row: ConversionUpload | ConversionAdjustment) -> str:
    """The conversion's stable key at Google (``transactionId``), the same for every attempt and
    for a later adjustment: Google de-duplicates on it per conversion action and treats a repeat
    as an adjustment, so a retried row can never become a second conversion.

    Built from what both a conversion and its adjustment carry (the goal, the conversion time to
    the second, the click id and the hashes), since an adjustment does not know the original
    ledger row."""
    parts = [
        row.goal_name,
        utc_timestamp(row.occurred_at),
        row.click_param or "",
        (row.click_id or "").strip(),
        (row.hashed_email or "").lower(),
        (row.hashed_phone or "").lower(),
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"sl-{digest[:32]}"


def _consent(state: str) -> dict[str, str] | None:
    """The host's ad-storage consent as Data Manager's ``adUserData``; unknown is left out
    (Google then applies its defaults for the account). ``adPersonalization`` is not sent: the
    host records no such choice."""
    if state == "granted":
        return {"adUserData": "CONSENT_GRANTED"}
    if state == "denied":
        return {"adUserData": "CONSENT_DENIED"}
    return None


def event_json(
    row: ConversionUpload | ConversionAdjustment,
    *,
    event_source: str,
    value: Decimal | None,
    currency: str | None,
) -> dict[str, Any]:
    """One ``Event``. Unset optional fields are omitted."""
    event: dict[str, Any] = {
        "transactionId": transaction_id(row),
        "eventTimestamp": utc_timestamp(row.occurred_at),
    }
    if row.click_id and row.click_param:
        event["adIdentifiers"] = {row.click_param: row.click_id.strip()}
    identifiers = []
    if row.hashed_email:
        identifiers.append({"emailAddress": row.hashed_email.lower()})
    if row.hashed_phone:
        identifiers.append({"phoneNumber": row.hashed_phone.lower()})
    if identifiers:
        event["userData"] = {"userIdentifiers": identifiers}
    consent = _consent(getattr(row, "ad_storage_consent", "unknown"))
    if consent:
        event["consent"] = consent
    if currency:
        event["currency"] = currency.strip().upper()
    if value is not None:
        event["conversionValue"] = float(value)
    event["eventSource"] = event_source
    return event


def conversion_event(row: ConversionUpload, event_source: str) -> dict[str, Any]:
    return event_json(row, event_source=event_source, value=row.value, currency=row.currency)


def adjustment_event(row: ConversionAdjustment, event_source: str) -> dict[str, Any]:
    """A restatement: the original's ``transactionId`` and identifiers with the new value
    (Google overwrites ``conversionValue`` and ``currency``; README "Adjustments")."""
    return event_json(row, event_source=event_source, value=row.value, currency=row.currency)


def destination(target: GoalTarget, account: AccountRef) -> dict[str, Any]:
    """The operating account owns the conversion action; the login account is the manager the
    connection reaches it through (when there is one and it is not the operating account)."""
    dest: dict[str, Any] = {
        "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": target.owner},
        "productDestinationId": target.id,
    }
    if account.customer_id and account.customer_id != target.owner:
        dest["loginAccount"] = {"accountType": "GOOGLE_ADS", "accountId": account.customer_id}
    return dest


def ingest_body(
    dest: Mapping[str, Any], events: Sequence[Mapping[str, Any]], *, validate_only: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {"destinations": [dict(dest)], "events": list(events)}
    if any("userData" in e for e in events):
        body["encoding"] = "HEX"
    if validate_only:
        body["validateOnly"] = True
    return body


# --- local checks ------------------------------------------------------------------------------


def _row_problem(
    row: ConversionUpload | ConversionAdjustment,
    params: Mapping[str, ClickIdParam],
    times: Iterable[datetime],
) -> str | None:
    if any(t.tzinfo is None or t.utcoffset() is None for t in times):
        return why.LOCAL_NAIVE_TIME
    click = (row.click_id or "").strip()
    if click:
        declared = params.get(row.click_param or "")
        if declared is None or not declared.accepts(click):
            return why.LOCAL_BAD_CLICK_ID
    if not (click or row.hashed_email or row.hashed_phone):
        return why.LOCAL_NO_IDENTIFIER
    if any(h and not looks_hashed(h) for h in (row.hashed_email, row.hashed_phone)):
        return why.LOCAL_NOT_HASHED
    if row.currency and not _CURRENCY.match(row.currency.strip().upper()):
        return why.LOCAL_BAD_CURRENCY
    if row.value is not None and (not math.isfinite(float(row.value)) or row.value < 0):
        return why.LOCAL_BAD_VALUE
    return None


def conversion_problem(row: ConversionUpload, params: Mapping[str, ClickIdParam]) -> str | None:
    """A local error code when the row cannot be sent as is (never sent), else None."""
    return _row_problem(row, params, [row.occurred_at])


def adjustment_problem(row: ConversionAdjustment, params: Mapping[str, ClickIdParam]) -> str | None:
    if row.kind != "restate":
        return why.LOCAL_NO_RETRACTION
    problem = _row_problem(row, params, [row.occurred_at, row.adjusted_at])
    if problem:
        return problem
    if row.value is None:
        return why.LOCAL_BAD_ADJUSTMENT
    return None
