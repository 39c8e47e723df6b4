"""Shared set-up for the intake tests: a workspace's pixel key and API keys."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

BROWSER_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36"
)
VISITOR = "v_0123456789abcdef"


def pixel_key(workspace_id: int, domains: list[str] | None = None) -> str:
    from webapp.extensions import db
    from webapp.intake import tracking

    settings = tracking.settings_for(workspace_id)
    if domains is not None:
        settings.allowed_domains = domains
        db.session.commit()
        tracking.forget_site(settings.public_key)
    return settings.public_key


def api_key(workspace_id: int, name: str = "CRM") -> str:
    from webapp.accounts import api_keys

    return api_keys.create(workspace_id, name)[1]


def hit(
    client: FlaskClient,
    key: str,
    payload: Any,
    *,
    origin: str | None = None,
    ua: str = BROWSER_UA,
    raw: bytes | None = None,
):
    headers = {"User-Agent": ua, "Content-Type": "text/plain"}
    if origin:
        headers["Origin"] = origin
    body = raw if raw is not None else json.dumps(payload).encode()
    return client.post(f"/collect?k={key}", data=body, headers=headers)


def pageview(url: str, visitor: str = VISITOR, **extra: Any) -> dict[str, Any]:
    return {"v": visitor, "t": "pageview", "u": url, "r": "", **extra}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


SHOP = "https://shop.example.com"


def journey_hit(uid: str, kind: str):
    """A page view of ``SHOP`` as the write-behind writer gets it. ``kind``: organic (from a
    search engine), click:X (a Microsoft ad click X), campaign:A (an email campaign A), view (the
    next page of the site)."""
    from webapp.intake import collect

    if kind == "organic":
        return collect.Hit(uid, "pageview", f"{SHOP}/", referrer="https://www.bing.com/")
    if kind.startswith("click:"):
        click = kind.split(":")[1]
        return collect.Hit(
            uid, "pageview", f"{SHOP}/?msclkid={click}", click_ids={"msclkid": click}
        )
    if kind.startswith("campaign:"):
        name = kind.split(":")[1]
        utm = {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": name}
        return collect.Hit(uid, "pageview", f"{SHOP}/?utm_campaign={name}", utm=utm)
    return collect.Hit(uid, "pageview", f"{SHOP}/next", referrer=f"{SHOP}/")
