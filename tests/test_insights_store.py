"""The insights upserts: a re-pull overwrites in place, never duplicates; the hierarchy follows
renames, pauses and deletions; Reset deletes everything synced."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from platforms.base import DailyMetric, Entity
from webapp.extensions import db
from webapp.models import AdEntity, Connection, InsightDaily, Membership
from webapp.services import connections, insights_store

DAY = date(2026, 10, 1)


def _connection(world) -> int:
    connection = Connection(
        workspace_id=world.workspace_id, platform_key="fake", account_id="1", account_name="A"
    )
    db.session.add(connection)
    db.session.commit()
    return connection.id


def _metric(entity: str, day: date, clicks: int, spend: str, level: str = "ad") -> DailyMetric:
    return DailyMetric(
        level=level,  # type: ignore[arg-type]
        entity_id=entity,
        day=day,
        impressions=clicks * 10,
        clicks=clicks,
        spend=Decimal(spend),
        currency="USD",
        conversions=Decimal("1.5"),
        revenue=Decimal("99.99"),
    )


def test_repull_overwrites_and_never_duplicates(app, world) -> None:
    cid = _connection(world)
    first = [
        _metric(str(i), DAY + timedelta(days=d), 5, "1.25") for i in range(30) for d in range(3)
    ]
    assert insights_store.upsert_metrics(cid, iter(first), batch_size=7) == 90
    # Overlapping window: the last day changes, one more day appears.
    second = [
        _metric(str(i), DAY + timedelta(days=d), 9 if d == 2 else 5, "2.50" if d == 2 else "1.25")
        for i in range(30)
        for d in (2, 3)
    ]
    insights_store.upsert_metrics(cid, second, batch_size=11)
    count = db.session.scalar(select(func.count()).select_from(InsightDaily))
    assert count == 30 * 4
    by_day = dict(
        db.session.execute(
            select(InsightDaily.day, func.sum(InsightDaily.spend)).group_by(InsightDaily.day)
        ).all()
    )
    assert Decimal(str(by_day[DAY])) == Decimal("37.50")
    assert Decimal(str(by_day[DAY + timedelta(days=2)])) == Decimal("75.00")
    row = db.session.scalar(select(InsightDaily).where(InsightDaily.entity_id == "3"))
    assert isinstance(row.spend, Decimal) and row.revenue == Decimal("99.99")


def test_same_entity_id_at_two_levels_is_two_rows(app, world) -> None:
    cid = _connection(world)
    insights_store.upsert_metrics(
        cid, [_metric("7", DAY, 1, "1", "campaign"), _metric("7", DAY, 1, "1", "ad")]
    )
    assert db.session.scalar(select(func.count()).select_from(InsightDaily)) == 2


def test_hierarchy_follows_renames_pauses_and_deletions(app, world) -> None:
    cid = _connection(world)
    insights_store.sync_entities(
        cid,
        [
            Entity("campaign", "1", "Brand", "Active"),
            Entity("ad_group", "11", "Group", "Active", parent_id="1"),
            Entity("ad", "111", "Ad", "Active", parent_id="11"),
        ],
    )
    seen, removed = insights_store.sync_entities(
        cid,
        [
            Entity("campaign", "1", "Brand (renamed)", "Paused"),
            Entity("ad_group", "11", "Group", "Active", parent_id="1"),
        ],
    )
    assert (seen, removed) == (2, 1)
    rows = {e.entity_id: e for e in db.session.scalars(select(AdEntity))}
    assert rows["1"].name == "Brand (renamed)" and rows["1"].status == "Paused"
    assert rows["111"].removed_at is not None and rows["111"].status == "Deleted"
    insights_store.sync_entities(cid, [Entity("ad", "111", "Ad", "Active", parent_id="11")])
    db.session.expire_all()
    back = db.session.scalar(select(AdEntity).where(AdEntity.entity_id == "111"))
    assert back.removed_at is None and back.status == "Active"


def test_reset_deletes_synced_insights(app, world) -> None:
    cid = _connection(world)
    insights_store.upsert_metrics(cid, [_metric("1", DAY, 1, "1")])
    insights_store.sync_entities(cid, [Entity("campaign", "1", "C", "Active")])
    owner = db.session.get(Membership, world.memberships["owner"])
    connections.reset(owner, db.session.get(Connection, cid))
    assert db.session.scalar(select(func.count()).select_from(InsightDaily)) == 0
    assert db.session.scalar(select(func.count()).select_from(AdEntity)) == 0
