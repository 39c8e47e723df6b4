"""Building blocks for push tests: a connected Microsoft Ads account (through the real connect
flow against the emulator), a push configuration, conversions with captured clicks, and the
emulator's read-back of what it received."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal

import requests
from sqlalchemy import select

from tests.conftest import client_as, make_world
from tests.helpers.connect import MICROSOFT_ADS
from webapp.extensions import db
from webapp.models import AdClick, Connection, Conversion, ConversionClickId, Membership, Visitor
from webapp.models.types import utcnow

US_ACCOUNT = "80000011"
CLOSED_WON = "60000001"  # 60 days old, VariableValue USD
QUALIFIED_LEAD = "60000002"  # customer scope, enhanced conversions
DEMO_BOOKED = "60000003"  # younger than two hours → 5615
LEGACY_SIGNUP = "60000005"  # paused


def connect(app, world, emulator: str, account_id: str = US_ACCOUNT) -> int:
    admin = client_as(app, "admin")
    response = MICROSOFT_ADS.pick(
        admin, MICROSOFT_ADS.sign_in(admin, emulator, world.workspace_id), account_id
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return db.session.scalar(select(Connection.id).where(Connection.account_id == account_id))


def admin_membership(world) -> Membership:
    return db.session.get(Membership, world.memberships["admin"])


def configure(
    world,
    connection_id: int,
    goals: dict[str, str],
    *,
    enhanced: bool = False,
    modes: dict[str, tuple[str, str]] | None = None,
    currency: str = "USD",
    enabled: bool = True,
) -> None:
    """Map events to goal ids the way the Configure page does (goals read from the API)."""
    from webapp.push import config as push_config

    push_config.fetch_goals(connection_id)
    modes = modes or {}
    inputs = [
        push_config.MappingInput(event, goal_id, *modes.get(event, ("event", "")))
        for event, goal_id in goals.items()
    ]
    connection = db.session.get(Connection, connection_id)
    errors = push_config.save(
        admin_membership(world),
        connection,
        enabled=enabled,
        enhanced_conversions=enhanced,
        default_currency=currency,
        mappings=inputs,
    )
    assert errors == {}, errors


def click_id() -> str:
    return secrets.token_hex(16)


def add_conversion(
    workspace_id: int,
    event: str = "purchase",
    *,
    occurred_at: datetime | None = None,
    clicked_at: datetime | None = None,
    msclkid: str | None = None,
    value: str | None = "120.50",
    currency: str | None = "USD",
    email_sha256: str | None = None,
    with_click: bool = True,
) -> tuple[int, str | None]:
    """A visitor, optionally a captured msclkid click, and a conversion; → (id, click id)."""
    occurred_at = occurred_at or utcnow() - timedelta(minutes=5)
    visitor = Visitor(workspace_id=workspace_id, uid=secrets.token_hex(8))
    db.session.add(visitor)
    db.session.flush()
    clicked = None
    if with_click:
        clicked = click_id()
        db.session.add(
            AdClick(
                workspace_id=workspace_id,
                visitor_id=visitor.id,
                click_param="msclkid",
                click_id=clicked,
                clicked_at=clicked_at or occurred_at - timedelta(hours=2),
            )
        )
    conversion = Conversion(
        workspace_id=workspace_id,
        visitor_id=visitor.id,
        event=event,
        occurred_at=occurred_at,
        value=Decimal(value) if value is not None else None,
        currency=currency,
        external_id=secrets.token_hex(8),
        source="api",
        email_sha256=email_sha256,
        identity_digests={"microsoft_ads": {"email": email_sha256}} if email_sha256 else None,
        properties={},
    )
    db.session.add(conversion)
    db.session.flush()
    if msclkid:
        db.session.add(
            ConversionClickId(conversion_id=conversion.id, click_param="msclkid", click_id=msclkid)
        )
    db.session.commit()
    return conversion.id, msclkid or clicked


def received(emulator: str, account_id: str = US_ACCOUNT) -> list[dict]:
    response = requests.get(
        f"{emulator}/_emulator/conversions", params={"account_id": account_id}, timeout=10
    )
    response.raise_for_status()
    return response.json()["conversions"]


def accepted_click_ids(emulator: str, account_id: str = US_ACCOUNT) -> list[str]:
    """Click ids Microsoft counted (duplicates it ignored and rejected rows left out)."""
    return [
        r["Request"].get("MicrosoftClickId")
        for r in received(emulator, account_id)
        if r["Status"] == "Accepted"
    ]


def arm(emulator: str, operation: str, kind: str, count: int = 1, **extra: object) -> None:
    response = requests.post(
        f"{emulator}/_emulator/faults",
        json={"operation": operation, "kind": kind, "count": count, **extra},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def reconnect(app, world, emulator: str, connection_id: int) -> None:
    admin = client_as(app, "admin")
    picker_url = MICROSOFT_ADS.sign_in(admin, emulator, world.workspace_id, reconnect=connection_id)
    assert MICROSOFT_ADS.confirm_reconnect(admin, picker_url, connection_id).status_code == 303


def revoke_grant(emulator: str, connection_id: int) -> None:
    """Microsoft revokes the refresh token and the access token has run out."""
    requests.post(
        f"{emulator}/_emulator/users/alex@fabrikam-agency.example/revoke", timeout=10
    ).raise_for_status()
    connection = db.session.get(Connection, connection_id)
    connection.credential.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


# The Microsoft emulator's seeded UET tag and its Conversions API token.
UET_TAG, UET_TOKEN = "187000111", "uet-capi-emulator-token-187000111"


def enable_realtime(
    world,
    connection_id: int,
    events: tuple[str, ...] = ("purchase",),
    *,
    enabled: bool = True,
    browser_tag: bool = False,
    tag_id: str = UET_TAG,
    token: str = UET_TOKEN,
) -> dict:
    """Save a connection's real-time path as its Admin would; → the form's errors ({}: saved).
    An empty ``token`` keeps the saved one."""
    from webapp.push import realtime_settings

    form = realtime_settings.RealtimeInput(
        enabled=enabled,
        events=tuple(events),
        browser_tag=browser_tag,
        values={"tag_id": tag_id, "token": token},
    )
    connection = db.session.get(Connection, connection_id)
    return realtime_settings.save(admin_membership(world), connection, form)


def world_with_events(*names: str):
    """A fresh workspace (``make_world``) with custom conversion events ``names``."""
    from webapp.models import ConversionEvent

    world = make_world()
    for name in names:
        db.session.add(ConversionEvent(workspace_id=world.workspace_id, name=name, label=name))
    db.session.commit()
    return world
