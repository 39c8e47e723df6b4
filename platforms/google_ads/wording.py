"""Google's enum values in the words its own UI uses (``GoogleAdsPlatform.label``).

Statuses are Google Ads API enum names (``CustomerStatus``, ``ConversionActionStatus``,
``CampaignStatus`` / ``AdGroupStatus`` / ``AdGroupAdStatus`` / ``AssetGroupStatus``); time zones
are CLDR ids such as ``America/Los_Angeles`` (``customer.time_zone``)."""

from __future__ import annotations

ACCOUNT_STATUS = {
    "ENABLED": "Enabled",
    "CANCELED": "Cancelled",
    "SUSPENDED": "Suspended",
    "CLOSED": "Closed",
    "UNKNOWN": "Unknown",
}
GOAL_STATUS = {"ENABLED": "Enabled", "HIDDEN": "Hidden", "REMOVED": "Removed"}
ENTITY_STATUS = {"ENABLED": "Enabled", "PAUSED": "Paused", "REMOVED": "Removed"}


def words(value: str) -> str:
    """``NOT_ELIGIBLE`` → ``Not eligible`` (the fallback for values not in the tables)."""
    text = value.replace("_", " ").strip().lower()
    return text[:1].upper() + text[1:]


def time_zone(value: str) -> str:
    """``America/Argentina/Buenos_Aires`` → ``Buenos Aires (America/Argentina)``."""
    region, _, place = value.rpartition("/")
    place = place.replace("_", " ")
    return f"{place} ({region.replace('_', ' ')})" if region else place


def label(kind: str, value: str | None) -> str:
    if not value:
        return ""
    if kind == "time_zone":
        return time_zone(value)
    table = {"account_status": ACCOUNT_STATUS, "goal_status": GOAL_STATUS}.get(kind, ENTITY_STATUS)
    return table.get(value) or words(value)
