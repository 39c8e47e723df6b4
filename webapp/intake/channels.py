"""Which channel a landing came from: click ids first, then UTM tags, then the referrer.

A paid channel is the key of the platform plugin that declares the click id (or the utm_source);
the catalog of declarations is ``webapp.intake.click_ids``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from webapp.intake.click_ids import ClickIdCatalog

_PAID_MEDIUMS = {"cpc", "ppc", "paid", "paidsearch", "paid_search", "cpm", "display", "paid_social"}
_SEARCH_ENGINES = ("google.", "bing.", "yahoo.", "duckduckgo.", "baidu.", "yandex.", "ecosia.")
_SOCIAL = ("facebook.", "instagram.", "linkedin.", "t.co", "twitter.", "x.com", "reddit.")


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def classify(
    click_ids: dict[str, str],
    utm: dict[str, str],
    referrer: str,
    landing_host: str,
    catalog: ClickIdCatalog,
) -> tuple[str, str, str]:
    """→ (channel, source, medium)."""
    for param in catalog.names:
        if click_ids.get(param):
            channel = catalog.channel_of(param)
            return channel, utm.get("utm_source", "") or channel.split("_")[0], "cpc"
    source = utm.get("utm_source", "").lower()
    medium = utm.get("utm_medium", "").lower()
    if source or medium:
        if medium in _PAID_MEDIUMS:
            return catalog.sources.get(source, "paid_other"), source, medium
        if medium in ("email", "newsletter") or source in ("newsletter", "email"):
            return "email", source, medium
        if medium in ("social", "social-media", "sm"):
            return "social", source, medium
        return "referral" if medium else "other", source, medium
    ref_host = host_of(referrer)
    if not ref_host or ref_host == landing_host or ref_host.endswith("." + landing_host):
        return "direct", "", ""
    if any(engine in ref_host for engine in _SEARCH_ENGINES):
        return "organic_search", ref_host, "organic"
    if any(ref_host.startswith(s) or f".{s}" in ref_host for s in _SOCIAL):
        return "social", ref_host, "referral"
    if "mail." in ref_host or ref_host.startswith(("outlook.", "mail")):
        return "email", ref_host, "email"
    return "referral", ref_host, "referral"


# The host's own channels in words; a paid channel is a platform key, worded by its plugin.
HOST_CHANNEL_LABELS = {
    "direct": "Direct",
    "organic_search": "Organic search",
    "email": "Email",
    "social": "Social",
    "referral": "Referral",
    "other": "Other",
}


def label(channel: str, platform_names: dict[str, str]) -> str:
    """A channel in words: the platform's display name, the host channel's label, or the key
    itself (``(none)`` and channels from older data)."""
    return platform_names.get(channel) or HOST_CHANNEL_LABELS.get(channel) or channel
