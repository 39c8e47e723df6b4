"""Which connections have push work due: the push fan-out enqueues only these.

A connection is due when it has ledger rows to (re)send now (pending and due, or a sending claim
whose lease expired), a mapped conversion inside its platform's upload window with no ledger row
yet (the push job plans it, or finds it still waiting for its click), or a refund/value change of
a sent conversion with no adjustment row yet. Everything else would be a job that plans nothing
and sends nothing; with thousands of connections those jobs are most of the queue.

The test is conservative: a conversion the plan will refuse (no click, no identity) keeps its
connection due for as long as it sits inside the window, as every connection was before."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select

from platforms.registry import PlatformRegistry
from webapp.extensions import db
from webapp.models import (
    AdjustmentDelivery,
    Connection,
    Conversion,
    ConversionAdjustment,
    ConversionDelivery,
    GoalMapping,
)
from webapp.models.types import utcnow

D, A, CA = ConversionDelivery, AdjustmentDelivery, ConversionAdjustment


def _due(window: timedelta, now: datetime):  # noqa: ANN202
    resend = (
        select(D.id)
        .where(
            D.connection_id == Connection.id,
            or_(
                and_(
                    D.status == D.PENDING,
                    or_(D.next_attempt_at.is_(None), D.next_attempt_at <= now),
                ),
                and_(D.status == D.SENDING, D.claimed_until < now),
            ),
        )
        .exists()
    )
    resend_adjustment = (
        select(A.id)
        .where(
            A.connection_id == Connection.id,
            or_(A.status == D.PENDING, and_(A.status == D.SENDING, A.claimed_until < now)),
        )
        .exists()
    )
    unplanned = (
        select(Conversion.id)
        .join(GoalMapping, GoalMapping.event == Conversion.event)
        .where(
            GoalMapping.connection_id == Connection.id,
            Conversion.workspace_id == Connection.workspace_id,
            Conversion.occurred_at >= now - window,
            ~select(D.id)
            .where(D.connection_id == Connection.id, D.conversion_id == Conversion.id)
            .correlate_except(D)  # two levels down: name what comes from outside
            .exists(),
        )
        .exists()
    )
    unplanned_adjustment = (
        select(CA.id)
        .join(D, D.conversion_id == CA.conversion_id)
        .where(
            D.connection_id == Connection.id,
            D.status == D.SENT,
            ~select(A.id)
            .where(A.delivery_id == D.id, A.adjustment_id == CA.id)
            .correlate_except(A)
            .exists(),
        )
        .exists()
    )
    return or_(resend, resend_adjustment, unplanned, unplanned_adjustment)


def connections_with_due_work(registry: PlatformRegistry, now: datetime | None = None) -> list[int]:
    """Active connections of enabled platforms with push work due, by id."""
    now = now or utcnow()
    due: list[int] = []
    for platform in registry:
        due += db.session.scalars(
            select(Connection.id).where(
                Connection.status == Connection.ACTIVE,
                Connection.platform_key == platform.key,
                _due(platform.upload_rules.window, now),
            )
        )
    return sorted(due)
