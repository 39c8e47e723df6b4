"""Which channel a landing came from: click ids first, then UTM tags, then the referrer."""

from __future__ import annotations

from urllib.parse import urlsplit

CLICK_PARAMS = ("msclkid", "gclid", "fbclid")
_CLICK_CHANNEL = {"msclkid": "microsoft_ads", "gclid": "google_ads", "fbclid": "meta_ads"}
_PAID_MEDIUMS = {"cpc", "ppc", "paid", "paidsearch", "paid_search", "cpm", "display", "paid_social"}
_SEARCH_ENGINES = ("google.", "bing.", "yahoo.", "duckduckgo.", "baidu.", "yandex.", "ecosia.")
_SOCIAL = ("facebook.", "instagram.", "linkedin.", "t.co", "twitter.", "x.com", "reddit.")
_MS_SOURCES = {"bing", "microsoft", "msn", "microsoft_ads", "bing_ads"}
_GOOGLE_SOURCES = {"google", "google_ads", "adwords"}
_META_SOURCES = {"facebook", "fb", "instagram", "meta", "ig"}


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def classify(
    click_ids: dict[str, str], utm: dict[str, str], referrer: str, landing_host: str
) -> tuple[str, str, str]:
    """→ (channel, source, medium)."""
    for param in CLICK_PARAMS:
        if click_ids.get(param):
            channel = _CLICK_CHANNEL[param]
            return channel, utm.get("utm_source", "") or channel.split("_")[0], "cpc"
    source = utm.get("utm_source", "").lower()
    medium = utm.get("utm_medium", "").lower()
    if source or medium:
        if medium in _PAID_MEDIUMS:
            if source in _MS_SOURCES:
                return "microsoft_ads", source, medium
            if source in _GOOGLE_SOURCES:
                return "google_ads", source, medium
            if source in _META_SOURCES:
                return "meta_ads", source, medium
            return "paid_other", source, medium
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
