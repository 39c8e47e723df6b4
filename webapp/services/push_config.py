"""A connection's push configuration: which event feeds which platform goal with which value,
the default currency, pushing on/off and enhanced conversions. Changes are audited.

Goals come from the platform on every Configure visit and push run; SourceLoop records when it
first saw each one, because platforms may expose no creation time yet refuse conversions for a
goal younger than their ``UploadRules.goal_settle``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from platforms.base import AccountRef, ConversionGoal, Platform
from webapp.extensions import db, platform_registry
from webapp.models import Connection, Conversion, GoalMapping, Membership, PlatformGoal, PushConfig
from webapp.models.intake import ConversionEvent
from webapp.models.types import utcnow
from webapp.services import audit
from webapp.services.credentials import session_for_connection
from webapp.services.errors import NotFound, ServiceError
from webapp.services.push_eligibility import GoalFacts

_CURRENCY = re.compile(r"^[A-Z]{3}$")
_EVENT = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_FIXED_VALUE = Decimal("999999999999")


def platform_for(connection: Connection) -> Platform:
    platform = platform_registry().get(connection.platform_key)
    if platform is None:
        raise NotFound(f"The {connection.platform_key} platform plugin is not installed.")
    return platform


def account_ref(connection: Connection) -> AccountRef:
    return AccountRef(connection.account_id, connection.customer_id)


def config_for(connection_id: int) -> PushConfig:
    """The stored settings, or the defaults (not added to the session) when never configured."""
    return db.session.get(PushConfig, connection_id) or PushConfig(
        connection_id=connection_id, enabled=True, enhanced_conversions=False
    )


def mappings_for(connection_id: int) -> list[GoalMapping]:
    return list(
        db.session.scalars(
            select(GoalMapping)
            .where(GoalMapping.connection_id == connection_id)
            .order_by(GoalMapping.event)
        )
    )


def events_for(workspace_id: int) -> list[str]:
    """Event names the workspace defined plus any that conversions already carry."""
    defined = db.session.scalars(
        select(ConversionEvent.name).where(ConversionEvent.workspace_id == workspace_id)
    )
    seen = db.session.scalars(
        select(Conversion.event).where(Conversion.workspace_id == workspace_id).distinct()
    )
    return sorted(set(defined) | set(seen))


def record_goals(connection_id: int, goals: Sequence[ConversionGoal]) -> list[PlatformGoal]:
    """Upsert what the platform listed; goals it no longer lists are kept, flagged missing."""
    now = utcnow()
    stored = {
        g.goal_id: g
        for g in db.session.scalars(
            select(PlatformGoal).where(PlatformGoal.connection_id == connection_id)
        )
    }
    listed = set()
    for goal in goals:
        listed.add(goal.id)
        row = stored.get(goal.id)
        if row is None:
            row = PlatformGoal(connection_id=connection_id, goal_id=goal.id, first_seen_at=now)
            db.session.add(row)
            stored[goal.id] = row
        row.name = goal.name[:255]
        row.status = goal.status[:32]
        row.count_type = (goal.count_type or None) and goal.count_type[:32]
        row.is_active = goal.is_active
        row.enhanced_conversions = goal.enhanced_conversions
        row.created_at = goal.created_at
        row.last_seen_at = now
        row.missing = False
    for goal_id, row in stored.items():
        if goal_id not in listed:
            row.missing = True
    db.session.commit()
    return sorted(stored.values(), key=lambda g: g.name.lower())


def fetch_goals(connection_id: int) -> list[PlatformGoal]:
    """Read the account's goals from the platform now (raises the plugin's typed errors)."""
    connection = db.session.get(Connection, connection_id)
    platform = platform_for(connection)
    session = session_for_connection(connection_id)
    return record_goals(
        connection_id, platform.list_conversion_goals(session, account_ref(connection))
    )


def stored_goals(connection_id: int) -> list[PlatformGoal]:
    return list(
        db.session.scalars(
            select(PlatformGoal)
            .where(PlatformGoal.connection_id == connection_id)
            .order_by(PlatformGoal.name)
        )
    )


def goal_facts(connection_id: int) -> dict[str, GoalFacts]:
    return {
        g.goal_id: GoalFacts(
            name=g.name,
            is_active=g.is_active,
            status=g.status,
            enhanced_conversions=g.enhanced_conversions,
            created_at=g.created_at,
            too_recent_until=g.too_recent_until,
            missing=g.missing,
        )
        for g in stored_goals(connection_id)
    }


def goal_is_new(goal: PlatformGoal, settle: timedelta, now: datetime | None = None) -> bool:
    """Flag for the dropdown: created (or, lacking that, first seen) less than the platform's
    ``goal_settle`` ago."""
    now = now or utcnow()
    born = goal.created_at or goal.first_seen_at
    young = born > now - settle
    return young or bool(goal.too_recent_until and goal.too_recent_until > now)


def mark_goal_too_recent(connection_id: int, goal_names: set[str], until: datetime) -> None:
    """The platform refused rows because a goal is too new: hold that goal's rows until then."""
    if not goal_names:
        return
    for goal in db.session.scalars(
        select(PlatformGoal).where(
            PlatformGoal.connection_id == connection_id, PlatformGoal.name.in_(goal_names)
        )
    ):
        if goal.too_recent_until is None or goal.too_recent_until < until:
            goal.too_recent_until = until


@dataclass(frozen=True)
class MappingInput:
    event: str
    goal_id: str  # "" = not pushed
    value_mode: str
    fixed_value: str


def parse_decimal(raw: str, places: int = 4) -> Decimal | None:
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ServiceError(f"“{raw}” is not a number.") from None
    if not value.is_finite() or value < 0 or value > MAX_FIXED_VALUE:
        raise ServiceError("A fixed value must be between 0 and 999,999,999,999.")
    if value.as_tuple().exponent < -places:  # type: ignore[operator]
        raise ServiceError(
            f"A fixed value may have at most {places} decimals (the platform's limit)."
        )
    return value


def save(
    actor: Membership,
    connection: Connection,
    *,
    enabled: bool,
    enhanced_conversions: bool,
    default_currency: str,
    mappings: Sequence[MappingInput],
) -> dict[str, str]:
    """Validate everything first, then store it in one transaction. Returns field errors
    (event → message, or "default_currency"), empty when saved."""
    errors: dict[str, str] = {}
    currency = (default_currency or "").strip().upper()
    if currency and not _CURRENCY.match(currency):
        errors["default_currency"] = "Use a three-letter ISO currency code such as USD or EUR."
    goals = {g.goal_id: g for g in stored_goals(connection.id)}
    clean: dict[str, tuple[PlatformGoal, str, Decimal | None]] = {}
    for item in mappings:
        if not item.goal_id:
            continue
        if not _EVENT.match(item.event):
            errors[item.event] = "Unknown event."
            continue
        goal = goals.get(item.goal_id)
        if goal is None or goal.missing:
            errors[item.event] = "That goal is not in this ad account; reload the page."
            continue
        if item.value_mode not in GoalMapping.VALUE_MODES:
            errors[item.event] = "Choose how the value is set."
            continue
        fixed = None
        if item.value_mode == GoalMapping.FIXED_VALUE:
            try:
                fixed = parse_decimal(
                    item.fixed_value, platform_for(connection).upload_rules.value_places
                )
            except ServiceError as exc:
                errors[item.event] = exc.message
                continue
            if fixed is None:
                errors[item.event] = "Enter the fixed value to send."
                continue
            if not (currency or connection.currency):
                errors["default_currency"] = "A fixed value needs a default currency."
        clean[item.event] = (goal, item.value_mode, fixed)
    if errors:
        return errors

    config = db.session.get(PushConfig, connection.id)
    if config is None:
        config = PushConfig(connection_id=connection.id)
        db.session.add(config)
    config.enabled = enabled
    config.enhanced_conversions = enhanced_conversions
    config.default_currency = currency or None
    config.updated_at = utcnow()
    config.updated_by_id = actor.user_id
    existing = {m.event: m for m in mappings_for(connection.id)}
    for event, mapping in existing.items():
        if event not in clean:
            db.session.delete(mapping)
    for event, (goal, mode, fixed) in clean.items():
        mapping = existing.get(event) or GoalMapping(connection_id=connection.id, event=event)
        mapping.goal_id, mapping.goal_name = goal.goal_id, goal.name
        mapping.value_mode, mapping.fixed_value = mode, fixed
        db.session.add(mapping)
    audit.record(
        "push.configured",
        workspace_id=connection.workspace_id,
        actor_id=actor.user_id,
        target=f"{connection.platform_key}:{connection.account_id}",
        enabled=enabled,
        enhanced_conversions=enhanced_conversions,
        default_currency=currency or None,
        mappings={
            e: {"goal": g.name, "value": m, **({"fixed": str(f)} if f is not None else {})}
            for e, (g, m, f) in sorted(clean.items())
        },
    )
    db.session.commit()
    return {}


def mapping_inputs(form: Mapping[str, str], events: Sequence[str]) -> list[MappingInput]:
    """Read ``goal__<event>``, ``mode__<event>``, ``fixed__<event>`` fields of the form."""
    return [
        MappingInput(
            event=event,
            goal_id=form.get(f"goal__{event}", ""),
            value_mode=form.get(f"mode__{event}", GoalMapping.EVENT_VALUE),
            fixed_value=form.get(f"fixed__{event}", ""),
        )
        for event in events
    ]
