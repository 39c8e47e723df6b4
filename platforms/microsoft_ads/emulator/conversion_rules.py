"""Microsoft's per-row rules for offline conversions and their adjustments.

Synchronous rejections (PartialErrors with 5600-range codes) are only the format and
window checks Microsoft documents as such; everything about matching a click happens
later at Microsoft and is therefore only visible through the diagnostics operation,
which this module feeds with an ``UnattributedReason`` per accepted row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .entities import Account, Goal
from .faults import batch_error
from .state import World

MSCLKID = re.compile(r"^[0-9a-fA-F]{32}$")
SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
WINDOW = timedelta(days=90)
MAX_VALUE = 999_999_999_999


class RowError(Exception):
    """A row-level rejection: its code becomes a BatchError at the row's index."""

    def __init__(self, code: int | str, details: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = details

    def as_batch_error(self, index: int) -> dict[str, Any]:
        return batch_error(index, self.code, self.details)


def parse_time(value: Any, missing: int, invalid: int) -> datetime:
    """ISO 8601; a value without offset is taken as UTC, as Microsoft requires UTC anyway."""
    if value in (None, ""):
        raise RowError(missing)
    if not isinstance(value, str):
        raise RowError(invalid)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as err:
        raise RowError(invalid, str(err)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def check_time(moment: datetime, now: datetime, future: int, window: int) -> None:
    if moment > now:
        raise RowError(future)
    if moment < now - WINDOW:
        raise RowError(window)


def find_goal(world: World, account: Account, name: Any) -> Goal:
    if not isinstance(name, str) or not name.strip():
        raise RowError(5605)
    for goal in world.goals_for_account(account):
        if goal.name == name and goal.status != "Deleted":
            return goal
    raise RowError(5606, f"No offline conversion goal named {name!r} in account {account.id}.")


def check_identifiers(row: dict[str, Any], goal: Goal) -> None:
    """MSCLKID is required unless the goal is enhanced and hashed PII is present."""
    msclkid = row.get("MicrosoftClickId")
    has_hash = bool(row.get("HashedEmailAddress") or row.get("HashedPhoneNumber"))
    if msclkid in (None, ""):
        if goal.enhanced and has_hash:
            return
        detail = (
            None if not has_hash else "Hashed identifiers need a goal with enhanced conversions."
        )
        raise RowError(5603, detail)
    if not isinstance(msclkid, str) or not MSCLKID.match(msclkid):
        raise RowError(5604)


def check_external_attribution(row: dict[str, Any], goal: Goal) -> None:
    """External-attribution fields only on a goal set up for them (``IsExternallyAttributed``,
    which only the API can set); Microsoft names the refusal GoalNotEligibleForExternalAttribution
    but publishes no number for it."""
    if goal.externally_attributed:
        return
    if row.get("ExternalAttributionCredit") is not None or row.get("ExternalAttributionModel"):
        raise RowError(
            "GoalNotEligibleForExternalAttribution",
            f"The goal {goal.name!r} is not set up for external attribution.",
        )


def check_value(row: dict[str, Any], value_key: str, currency_key: str) -> None:
    value = row.get(value_key)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_VALUE
    ):
        raise RowError(5610)
    currency = row.get(currency_key)
    if currency not in (None, "") and (
        not isinstance(currency, str) or not CURRENCY.match(currency)
    ):
        raise RowError(5611)


def later_problem(row: dict[str, Any], goal: Goal) -> str | None:
    """Problems Microsoft accepts now and reports later (diagnostics only, no sync error)."""
    for key in ("HashedEmailAddress", "HashedPhoneNumber"):
        if row.get(key) and not SHA256_HEX.match(str(row[key])):
            return "MalformedData"  # plain-text PII: "ConversionEmailAddressIsNotHashed"
    credit, model = row.get("ExternalAttributionCredit"), row.get("ExternalAttributionModel")
    if credit is not None or model is not None:  # the goal is eligible (checked on receipt)
        if credit is None or not model:
            return "MalformedData"  # ExternalAttributionRequiredFieldEmpty
        if not isinstance(credit, int | float) or not 0 < credit <= 1 or len(str(model)) > 100:
            return "MalformedData"  # ExternalAttributionCreditValueInvalid / ModelTooLong
    return None


def attribution(
    world: World, account: Account, goal: Goal, row: dict[str, Any], at: datetime
) -> str | None:
    """Why an accepted conversion will not count (None = attributed to a known click)."""
    if goal.status != "Active":
        return "GoalNotFoundOrInactive"
    problem = later_problem(row, goal)
    if problem:
        return problem
    msclkid = row.get("MicrosoftClickId")
    if not msclkid:
        return "NoMatchingClickFound"  # hashed-only rows are never matched by the emulator
    click = world.clicks.get(str(msclkid).lower()) or world.clicks.get(str(msclkid))
    if click is None:
        return "NoMatchingClickFound"
    if click.account_id != account.id:
        return "AccountMismatch"
    if click.clicked_at > at:
        return "ClickTimestampAfterConversion"
    if at - click.clicked_at > timedelta(minutes=goal.window_minutes):
        return "OutsideGoalLookbackWindow"
    return None


def dedup_key(account: Account, goal: Goal, row: dict[str, Any], at: datetime) -> tuple[str, ...]:
    return (
        account.id,
        str(row.get("MicrosoftClickId") or "").lower(),
        goal.name,
        at.isoformat(),
        str(row.get("HashedEmailAddress") or "").lower(),
        str(row.get("HashedPhoneNumber") or "").lower(),
    )
