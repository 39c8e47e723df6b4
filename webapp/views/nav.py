"""Template helpers for the shell: setup tabs and workspace-wide banners."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, g, url_for
from sqlalchemy import select

from webapp.attribution.money import format_money, format_ratio
from webapp.connections import health
from webapp.extensions import db, platform_registry
from webapp.intake import channels
from webapp.models import Connection

# (endpoint, label); an area adds its tab here when it registers.
SETUP_TABS: list[tuple[str, str]] = [
    ("platforms.index", "Ad Platforms"),
    ("tracking.index", "Tracking"),
    ("apikeys.index", "API keys"),
    ("members.index", "Members"),
    ("privacy.index", "Privacy"),
    ("workspace.index", "Workspace"),
]


@dataclass(frozen=True)
class Banner:
    level: str
    message: str
    url: str | None = None
    action: str | None = None


def workspace_banners() -> list[Banner]:
    workspace = getattr(g, "workspace", None)
    if workspace is None:
        return []
    broken = db.session.scalars(
        select(Connection).where(
            Connection.workspace_id == workspace.id,
            Connection.status == Connection.RECONNECT_NEEDED,
        )
    ).all()
    return [
        Banner(
            "warning",
            f"{c.account_name} (Account ID {c.account_id}) needs to be reconnected: "
            "its access was revoked or expired. Pushes are paused and nothing is lost.",
            url_for("platforms.index", ws_id=workspace.id),
            "Reconnect",
        )
        for c in broken
    ]


def register_nav(app: Flask) -> None:
    app.jinja_env.globals.update(
        workspace_banners=workspace_banners,
        setup_tabs=lambda: SETUP_TABS,
        setup_areas=lambda: {endpoint.split(".")[0] for endpoint, _ in SETUP_TABS},
        platform_label=platform_label,
        connection_health=health.check,
    )
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["ratio"] = format_ratio
    app.jinja_env.filters["channel"] = channel_words


def channel_words(channel: str | None) -> str:
    """A channel key in words (``webapp.intake.channels.label``). The platforms' names are read
    once per request (a table of channels calls this for every cell)."""
    names = g.get("platform_names")
    if names is None:
        names = g.platform_names = {p.key: p.display_name for p in platform_registry()}
    return channels.label(channel or "", names)


def platform_label(platform_key: str, kind: str, value: str | None) -> str:
    """A platform's enum value in its own words (``Platform.label``); the value itself when the
    plugin is not installed."""
    platform = platform_registry().get(platform_key)
    return platform.label(kind, value) if platform is not None else (value or "")
