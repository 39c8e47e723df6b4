"""resolve_click_id: the most recent click of a kind in the window before the conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webapp.extensions import db
from webapp.models import AdClick, Conversion, Visitor
from webapp.services.attribution import resolve_click_id

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def make(world, clicks: list[tuple[str, str, timedelta]], **conversion) -> Conversion:
    visitor = Visitor(workspace_id=world.workspace_id, uid="v_attribution01")
    db.session.add(visitor)
    db.session.flush()
    for param, click_id, ago in clicks:
        db.session.add(
            AdClick(
                workspace_id=world.workspace_id,
                visitor_id=visitor.id,
                click_param=param,
                click_id=click_id,
                clicked_at=T - ago,
            )
        )
    row = Conversion(
        workspace_id=world.workspace_id,
        visitor_id=visitor.id,
        event="form_submitted",
        occurred_at=T,
        source="api",
        external_id="a-1",
        **conversion,
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_most_recent_click_before_the_conversion_wins(app, world) -> None:
    conversion = make(
        world,
        [
            ("msclkid", "old", timedelta(days=30)),
            ("msclkid", "recent", timedelta(days=2)),
            ("msclkid", "after", -timedelta(hours=1)),
            ("gclid", "g1", timedelta(days=1)),
        ],
    )
    resolved = resolve_click_id(conversion)
    assert (resolved.click_id, resolved.clicked_at, resolved.supplied) == (
        "recent",
        T - timedelta(days=2),
        False,
    )
    assert resolve_click_id(conversion.id).click_id == "recent"
    assert resolve_click_id(conversion, param="gclid").click_id == "g1"
    assert resolve_click_id(conversion.visitor, at=T + timedelta(days=1)).click_id == "after"


def test_window_is_90_days_by_default(app, world) -> None:
    conversion = make(world, [("msclkid", "too-old", timedelta(days=91))])
    assert resolve_click_id(conversion) is None
    assert resolve_click_id(conversion, within=timedelta(days=120)).click_id == "too-old"


def test_a_supplied_msclkid_wins(app, world) -> None:
    conversion = make(world, [("msclkid", "captured", timedelta(days=1))], msclkid="from-crm")
    resolved = resolve_click_id(conversion)
    assert (resolved.click_id, resolved.supplied, resolved.ad_click_id) == ("from-crm", True, None)


def test_nothing_to_resolve(app, world) -> None:
    conversion = Conversion(
        workspace_id=world.workspace_id,
        event="form_submitted",
        occurred_at=T,
        source="api",
        external_id="lonely",
    )
    db.session.add(conversion)
    db.session.commit()
    assert resolve_click_id(conversion) is None
    assert resolve_click_id(999_999) is None
