"""A connection's real-time event path (plugin capability ``realtime_events``): on or off, which
SourceLoop events go this way, whether the pixel runs the plugin's browser tag, and the plugin's
own settings fields. Secret fields are stored encrypted (``RealtimeConfig.secrets``, the same
column type as OAuth tokens), never shown again, never logged or audited.

Also what the pixel asks: the browser tags a workspace's opted-in connections run
(``browser_tags``), and the nudge that sends a new conversion within seconds (``after_save``:
every intake path that creates conversions calls it once they are committed).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import select, update

from platforms.base import AccountRef, Platform, RealtimeSpec
from webapp import policy
from webapp.background import enqueue as background
from webapp.common import audit
from webapp.common.errors import Forbidden, ServiceError
from webapp.extensions import db, platform_registry
from webapp.intake import conversions
from webapp.models import Connection, GoalMapping, Membership, RealtimeConfig, RealtimeDelivery
from webapp.models.types import utcnow
from webapp.policy import Action
from webapp.push import config as push_config

log = logging.getLogger(__name__)
R = RealtimeDelivery
MAX_EVENTS_SELECTED = 50


def spec_for(platform: Platform | None) -> RealtimeSpec | None:
    """The plugin's real-time spec when it declares the capability, else None."""
    if platform is None or not platform.capabilities.realtime_events:
        return None
    return platform.realtime


def config_for(connection_id: int) -> RealtimeConfig:
    """The stored settings, or the defaults (off; not added to the session)."""
    return db.session.get(RealtimeConfig, connection_id) or RealtimeConfig(
        connection_id=connection_id, enabled=False, events=[], browser_tag=False, values={}
    )


def _secrets(config: RealtimeConfig) -> dict[str, str]:
    if not config.secrets:
        return {}
    loaded = json.loads(config.secrets)
    return {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}


def settings_values(config: RealtimeConfig) -> dict[str, str]:
    """Every field's value, secrets decrypted: what the plugin's send receives."""
    return {**{str(k): str(v) for k, v in (config.values or {}).items()}, **_secrets(config)}


def saved_secret_names(config: RealtimeConfig) -> set[str]:
    """Which secret fields have a stored value (the form says "saved", never the value)."""
    return set(_secrets(config))


def overlapping_events(connection_id: int, events: Iterable[str]) -> list[str]:
    """Selected events that the offline upload also sends (to a goal of its own)."""
    mapped = set(
        db.session.scalars(
            select(GoalMapping.event).where(GoalMapping.connection_id == connection_id)
        )
    )
    return sorted(set(events) & mapped)


@dataclass(frozen=True)
class RealtimeInput:
    enabled: bool
    events: tuple[str, ...]
    browser_tag: bool
    values: Mapping[str, str]  # field name → what was typed ("" keeps a saved secret)


def save(actor: Membership, connection: Connection, form: RealtimeInput) -> dict[str, str]:
    """Validate, then store in one transaction. → field errors (field name, "events" or
    "enabled" → message), empty when saved."""
    if not policy.can(actor.role, Action.MANAGE_PLATFORMS):
        raise Forbidden(policy.reason(Action.MANAGE_PLATFORMS))
    platform = platform_registry().get(connection.platform_key)
    spec = spec_for(platform)
    if spec is None:
        raise ServiceError("This platform has no real-time event path.")
    config = config_for(connection.id)
    old_secrets = _secrets(config)
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for field in spec.fields:
        raw = (form.values.get(field.name) or "").strip()
        if field.secret and not raw and field.name in old_secrets:
            secrets[field.name] = old_secrets[field.name]
            continue
        if not raw:
            if form.enabled:
                errors[field.name] = f"{field.label} is needed to switch this on."
            continue
        if not field.accepts(raw):
            errors[field.name] = f"This is not a valid {field.label}."
            continue
        (secrets if field.secret else values)[field.name] = raw
    known = set(push_config.events_for(connection.workspace_id))
    events = sorted(set(form.events))
    unknown = [e for e in events if e not in known]
    if unknown:
        errors["events"] = f"Unknown event: {', '.join(unknown)[:200]}."
    elif len(events) > MAX_EVENTS_SELECTED:
        errors["events"] = f"Choose at most {MAX_EVENTS_SELECTED} events."
    elif form.enabled and not events:
        errors["events"] = "Choose at least one event to send this way."
    if form.browser_tag and not spec.browser_tag:
        errors["browser_tag"] = "This platform has no browser tag."
    if errors:
        return errors
    credentials_changed = values != (config.values or {}) or secrets != old_secrets
    stored = db.session.get(RealtimeConfig, connection.id)
    if stored is None:
        stored = config
        db.session.add(stored)
    stored.enabled = form.enabled
    stored.events = events
    stored.browser_tag = form.browser_tag and form.enabled
    stored.values = values
    stored.secrets = json.dumps(secrets, sort_keys=True) if secrets else None
    stored.updated_at = utcnow()
    stored.updated_by_id = actor.user_id
    if credentials_changed and spec.auth_codes:
        # Events refused because the old credentials were refused go out with the new ones.
        db.session.execute(
            update(R)
            .where(
                R.connection_id == connection.id,
                R.status == R.FAILED,
                R.error_code.in_(sorted(spec.auth_codes)),
            )
            .values(status=R.PENDING, next_attempt_at=None, reason=None),
            execution_options={"synchronize_session": False},
        )
    audit.record(
        "realtime.configured",
        workspace_id=connection.workspace_id,
        actor_id=actor.user_id,
        target=connection.audit_target,
        enabled=form.enabled,
        events=events,
        browser_tag=stored.browser_tag,
        credentials_changed=credentials_changed,  # never the values
    )
    db.session.commit()
    return {}


def enabled_connections(workspace_id: int) -> list[tuple[Connection, RealtimeConfig]]:
    return list(
        db.session.execute(
            select(Connection, RealtimeConfig)
            .join(RealtimeConfig, RealtimeConfig.connection_id == Connection.id)
            .where(
                Connection.workspace_id == workspace_id,
                Connection.status == Connection.ACTIVE,
                RealtimeConfig.enabled.is_(True),
            )
            .order_by(Connection.id)
        ).all()
    )


def browser_tags(workspace_id: int) -> list[dict[str, object]]:
    """For the pixel: each opted-in connection's browser tag (plugin key and script), the events
    it reports and the plugin's public config (public fields only, never a secret)."""
    tags: list[dict[str, object]] = []
    for connection, config in enabled_connections(workspace_id):
        platform = platform_registry().get(connection.platform_key)
        spec = spec_for(platform)
        if platform is None or spec is None or not spec.browser_tag or not config.browser_tag:
            continue
        public = {f.name for f in spec.fields if f.public}
        values = {k: str(v) for k, v in (config.values or {}).items() if k in public}
        account = AccountRef(connection.account_id, connection.customer_id)
        tags.append(
            {
                "tag": platform.key,
                "script": spec.browser_tag,
                "events": list(config.events or []),
                "config": platform.browser_config(values, account),
            }
        )
    return tags


def arrival_targets(
    workspace_id: int, arrivals: Iterable[conversions.Arrival], now: datetime | None = None
) -> list[int]:
    """The active connections whose real-time path sends one of ``arrivals``: a chosen event
    inside the platform's window. An older conversion (a backfill of history) nudges nothing:
    the run never plans it (``realtime.plan``, same rule), because the platform would refuse it.
    Ends the read: the pixel's writer must not wait behind it (SQLite)."""
    now = now or utcnow()
    arrivals = list(arrivals)
    targets = []
    for connection, config in enabled_connections(workspace_id):
        spec = spec_for(platform_registry().get(connection.platform_key))
        chosen = set(config.events or [])
        if spec is not None and any(
            a.event in chosen and a.occurred_at >= now - spec.window for a in arrivals
        ):
            targets.append(connection.id)
    db.session.commit()
    return targets


def nudge(workspace_id: int, connection_ids: Iterable[int]) -> int:
    """Queue the real-time job of each connection (the id's time slot keeps a burst of arrivals
    to one job per connection). Never raises: without Redis (or with any other failure here)
    the conversion is already stored and the push fan-out's run sends it within minutes, so the
    request that brought it must not fail. → jobs enqueued."""
    enqueued = 0
    try:
        for connection_id in connection_ids:
            enqueued += int(background.enqueue_realtime(connection_id, workspace_id))
    except RedisError as exc:
        log.warning("real-time nudge not enqueued (%s); the scheduled run sends it", exc)
        db.session.rollback()
    except Exception:
        log.exception("real-time nudge failed; the scheduled run sends the conversion")
        db.session.rollback()
    return enqueued


def after_save(workspace_id: int, arrivals: Iterable[conversions.Arrival]) -> int:
    """Called by every intake path once its conversions are committed, with what
    ``intake.conversions.insert`` answered for each (``conversions.arrivals``): the new ones nudge
    the real-time job of each connection that sends them; a duplicate that was ignored (a
    replayed webhook, an API retry) nudges nothing, nor does a conversion older than the
    platform's window. Never fails the intake (see ``nudge``). → jobs enqueued.

    The paths: the conversion API, the pixel (``collect.submit`` answers its event's arrival)
    and the Stripe webhook call this. No other path
    creates conversions (no CSV import, no manual entry; ``tests/push/test_realtime_arrivals.py``
    checks the list). A Stripe refund is an adjustment of the offline upload, never a real-time
    event."""
    fresh = [a for a in arrivals if a.created]
    if not fresh:
        return 0
    try:
        targets = arrival_targets(workspace_id, fresh)
    except Exception:
        log.exception("real-time nudge skipped; the scheduled run sends the conversion")
        db.session.rollback()
        return 0
    return nudge(workspace_id, targets)
