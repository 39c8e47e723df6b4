"""Two pushes of one connection at once (a person's "Push now" beside the scheduled push, or two
worker dynos) never hold the same ledger row: the races of the ledger's state machine, replayed
deterministically step by step on the test database (SQLite, and PostgreSQL with
TEST_DATABASE_URL). The process version, two real workers on PostgreSQL, is
``tests/e2e/test_push_workers_postgres.py``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.conftest import make_world
from tests.helpers import push as h
from webapp.extensions import db
from webapp.models import Connection, ConversionDelivery
from webapp.models.types import utcnow
from webapp.push import config as push_config
from webapp.push import ledger as push_ledger

D = ConversionDelivery
LEASE = timedelta(minutes=5)


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    cid = h.connect(ms_app, world, emulator)
    h.configure(world, cid, {"purchase": h.CLOSED_WON})
    return cid


def _eligible_now(connection_id: int) -> list[push_ledger.Planned]:
    """What a planner about to insert has in hand: the eligible rows it found."""
    connection = db.session.get(Connection, connection_id)
    chunks = push_ledger._eligible(
        connection,
        push_config.config_for(connection_id),
        push_config.mappings_for(connection_id),
        push_config.goal_facts(connection_id),
        push_config.platform_for(connection),
        utcnow(),
        push_ledger.PlanResult(),
    )
    return [row for chunk in chunks for row in chunk]


def _ledger_count(connection_id: int) -> int:
    return db.session.scalar(select(func.count()).where(D.connection_id == connection_id)) or 0


def test_two_planners_that_found_the_same_rows_insert_each_row_once(
    ms_app, world, connection_id
) -> None:
    for _ in range(5):
        h.add_conversion(world.workspace_id)
    # Both planners read before either inserted: both hold the same five eligible rows.
    first, second = _eligible_now(connection_id), _eligible_now(connection_id)
    assert len(first) == len(second) == 5
    now = utcnow()
    token_a, rows_a = push_ledger._insert_claimed(
        connection_id, first, now, LEASE, push_ledger.PlanResult()
    )
    result_b = push_ledger.PlanResult()
    token_b, rows_b = push_ledger._insert_claimed(connection_id, second, now, LEASE, result_b)
    # The second planner inserted nothing and hands nothing to its send loop: the rows are the
    # first one's, and only the first one will send them.
    assert len(rows_a) == 5 and rows_b == [] and result_b.planned == 0
    assert _ledger_count(connection_id) == 5
    held = dict(
        db.session.execute(select(D.claim_token, func.count()).group_by(D.claim_token)).all()
    )
    assert held == {token_a: 5} and token_b not in held
    # What the send loop gets is what was stored, row by row.
    stored = {row.conversion_id: row for row in db.session.scalars(select(D))}
    for row in rows_a:
        kept = stored[row.conversion_id]
        assert (kept.id, kept.click_id, kept.status) == (row.id, row.click_id, D.SENDING)


def test_a_planner_and_a_later_one_split_the_backlog_without_overlap(
    ms_app, world, connection_id
) -> None:
    for _ in range(6):
        h.add_conversion(world.workspace_id)
    found = _eligible_now(connection_id)
    now = utcnow()
    # The first planner inserts half of what it found; a second planner starts only now.
    token_a, rows_a = push_ledger._insert_claimed(
        connection_id, found[:3], now, LEASE, push_ledger.PlanResult()
    )
    later = _eligible_now(connection_id)
    assert {r.conversion_id for r in later} == {r.conversion_id for r in found[3:]}
    token_b, rows_b = push_ledger._insert_claimed(
        connection_id, later, now, LEASE, push_ledger.PlanResult()
    )
    # The first planner's second half was taken meanwhile: it gets none of it.
    token_c, rows_c = push_ledger._insert_claimed(
        connection_id, found[3:], now, LEASE, push_ledger.PlanResult()
    )
    assert (len(rows_a), len(rows_b), rows_c) == (3, 3, [])
    assert not {r.id for r in rows_a} & {r.id for r in rows_b}
    assert _ledger_count(connection_id) == 6


def test_a_claim_never_takes_rows_under_a_running_lease_and_takes_them_once_it_expired(
    ms_app, world, connection_id
) -> None:
    for _ in range(4):
        h.add_conversion(world.workspace_id)
    now = utcnow()
    token_a, rows_a = push_ledger._insert_claimed(
        connection_id, _eligible_now(connection_id), now, LEASE, push_ledger.PlanResult()
    )
    assert len(rows_a) == 4
    # Another worker looks for due rows while the first one's call is on the wire: none.
    assert push_ledger.claim(D, connection_id, 1000, LEASE, utcnow()) == (None, [])
    # The first worker died; its lease runs out; the next claim takes the rows once.
    db.session.execute(update(D).values(claimed_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    token_b, rows_b = push_ledger.claim(D, connection_id, 3, LEASE, utcnow())
    token_c, rows_c = push_ledger.claim(D, connection_id, 3, LEASE, utcnow())
    assert (len(rows_b), len(rows_c)) == (3, 1)
    assert not {r.id for r in rows_b} & {r.id for r in rows_c}
    assert push_ledger.claim(D, connection_id, 3, LEASE, utcnow()) == (None, [])
    # A late answer for the dead worker's token changes nothing: the rows are no longer its.
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).where(D.claim_token == token_a)) == 0
