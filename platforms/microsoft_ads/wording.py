"""Microsoft's enum values in the words its own UI uses (``MicrosoftAdsPlatform.label``).

Time zones are ``TimeZoneType`` names such as ``PacificTimeUSCanadaTijuana``: CamelCase place
names, which read as "Pacific Time (US & Canada), Tijuana" once split. Statuses come from
``AccountLifeCycleStatus`` (Draft, Active, Inactive, Pause, Pending, Suspended), the conversion
goal status and the campaign / ad group / ad ``Status`` enums (fact sheet: customers §accounts,
campaign management §entities)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|\d|$)|[A-Z][a-z]+|[a-z]+|\d+|[A-Z]")

ACCOUNT_STATUS = {
    "Draft": "Draft",
    "Active": "Active",
    "Inactive": "Inactive",
    "Pause": "Paused",
    "Pending": "Pending approval",
    "Suspended": "Suspended",
}
GOAL_STATUS = {
    "Active": "Active",
    "Paused": "Paused",
    "Deleted": "Deleted",
    "InActive": "Inactive",
}
ENTITY_STATUS = {
    "Active": "Active",
    "Paused": "Paused",
    "BudgetPaused": "Paused: budget spent",
    "BudgetAndManualPaused": "Paused (and budget spent)",
    "Deleted": "Deleted",
    "Suspended": "Suspended",
    "Expired": "Expired",
}
# Groups Microsoft writes in parentheses in its time-zone list.
_GROUPS = {"US Canada": "(US & Canada)", "US": "(US)", "UK": "(UK)"}


def words(value: str) -> str:
    """``BudgetAndManualPaused`` → ``Budget and manual paused`` (the fallback for new values)."""
    tokens = _WORD.findall(value)
    if not tokens:
        return value
    out = [tokens[0]] + [t if t.isupper() else t.lower() for t in tokens[1:]]
    return " ".join(out)


def time_zone(value: str) -> str:
    """``PacificTimeUSCanadaTijuana`` → ``Pacific Time (US & Canada), Tijuana``."""
    tokens = _WORD.findall(value)
    if not tokens:
        return value
    tokens = ["and" if t == "And" else t for t in tokens]
    text = " ".join(tokens)
    if "Time" in tokens[:-1] and not any(re.search(rf"\b{g}\b", text) for g in _GROUPS):
        cut = tokens.index("Time") + 1  # "Greenwich Mean Time: Dublin, Edinburgh, ..."
        return " ".join(tokens[:cut]) + ": " + ", ".join(tokens[cut:])
    for group, shown in _GROUPS.items():
        match = re.search(rf"\b{group}\b", text)
        if match and match.start() > 0:
            before, after = text[: match.start()].rstrip(), text[match.end() :].strip()
            return f"{before} {shown}" + (f", {after}" if after else "")
    return text


def label(kind: str, value: str | None) -> str:
    if not value:
        return ""
    if kind == "time_zone":
        return time_zone(value)
    table = {"account_status": ACCOUNT_STATUS, "goal_status": GOAL_STATUS}.get(kind, ENTITY_STATUS)
    return table.get(value) or words(value)
