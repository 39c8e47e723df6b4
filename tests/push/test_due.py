"""The push fan-out enqueues only connections with push work due (``webapp.push.due``)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from jobs.queues import PUSH
from tests.conftest import make_world
from tests.helpers.attribution_data import conversion
from webapp.extensions import db, platform_registry
from webapp.models import (
    Connection,
    ConversionAdjustment,
    ConversionDelivery,
    GoalMapping,
)
from webapp.models.types import utcnow
from webapp.push.due import connections_with_due_work

D = ConversionDelivery


@pytest.fixture
def world(app):
    return make_world()


def _connection(world, n: int, *, status: str = Connection.ACTIVE, mapped: bool = True) -> int:
    c = Connection(
        workspace_id=world.workspace_id,
        platform_key="fake",
        account_id=f"acct{n}",
        status=status,
    )
    db.session.add(c)
    db.session.flush()
    if mapped:
        db.session.add(
            GoalMapping(connection_id=c.id, event="purchase", goal_id="g1", goal_name="G")
        )
    db.session.commit()
    return c.id


def _delivery(connection_id: int, conversion_id: int, status: str, **extra) -> D:
    row = D(
        connection_id=connection_id,
        conversion_id=conversion_id,
        goal_id="g1",
        goal_name="G",
        event="purchase",
        conversion_time=utcnow(),
        status=status,
        **extra,
    )
    db.session.add(row)
    db.session.commit()
    return row


def _due() -> list[int]:
    return connections_with_due_work(platform_registry())


def test_only_connections_with_work_due_are_chosen(app, world) -> None:
    ws = world.workspace_id
    idle = _connection(world, 1)
    fresh = _connection(world, 2)
    unmapped = _connection(world, 3, mapped=False)
    disconnected = _connection(world, 4, status="revoked")
    old = conversion(ws, None, "10", external_id="old", at=utcnow() - timedelta(days=200))
    new = conversion(ws, None, "10", external_id="new", at=utcnow() - timedelta(hours=1))
    # idle: everything in its window already has a ledger row (sent); the old one is out of window
    _delivery(idle, new, D.SENT)
    assert old and unmapped and disconnected
    # fresh: ``new`` has no ledger row for it yet: the push job must plan it
    assert _due() == [fresh]

    _delivery(fresh, new, D.SENT)
    assert _due() == []


def test_retries_expired_claims_and_adjustments_make_a_connection_due(app, world) -> None:
    ws = world.workspace_id
    cid = _connection(world, 1)
    conv = conversion(ws, None, "10", external_id="c1", at=utcnow() - timedelta(hours=1))
    row = _delivery(cid, conv, D.PENDING, next_attempt_at=utcnow() + timedelta(minutes=5))
    assert _due() == []  # backing off: not yet

    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _due() == [cid]

    row.status, row.claimed_until = D.SENDING, utcnow() + timedelta(minutes=5)
    db.session.commit()
    assert _due() == []  # another worker holds a live claim
    row.claimed_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _due() == [cid]  # its worker died: the claim expired

    row.status, row.claimed_until = D.SENT, None
    db.session.commit()
    assert _due() == []
    db.session.add(
        ConversionAdjustment(
            workspace_id=ws, conversion_id=conv, kind="refund", new_value=Decimal("0"), currency="USD",
            occurred_at=utcnow(), external_id="refund-1",
        )
    )  # fmt: skip
    db.session.commit()
    assert _due() == [cid]  # a refund of a sent conversion waits to be retracted


def test_the_fanout_enqueues_push_jobs_for_due_connections_only(app, world, redis) -> None:
    from rq import SimpleWorker

    from jobs.queues import DEFAULT, get_queue
    from webapp.background.job_runs import enqueue

    ws = world.workspace_id
    idle = _connection(world, 1)
    due = _connection(world, 2)
    conv = conversion(ws, None, "10", external_id="n", at=utcnow() - timedelta(hours=1))
    _delivery(idle, conv, D.SENT)
    enqueue("push_fanout")
    default = get_queue(DEFAULT, app.config["REDIS_URL"])
    SimpleWorker([default], connection=redis).work(burst=True)  # the fan-out only
    pushes = get_queue(PUSH, app.config["REDIS_URL"]).jobs
    assert [job.kwargs["connection_id"] for job in pushes] == [due]
