"""Click matching: the most recent click of a platform's own parameters in the window before the
conversion; a platform never gets another platform's click ids (captured or supplied)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from webapp.extensions import db
from webapp.models import AdClick, Conversion, ConversionClickId, Visitor
from webapp.services.attribution import resolve_click_id, resolve_clicks

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def make(
    world, clicks: list[tuple[str, str, timedelta]], supplied=None, **conversion
) -> Conversion:
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
    db.session.flush()
    for param, click_id in (supplied or {}).items():
        db.session.add(
            ConversionClickId(conversion_id=row.id, click_param=param, click_id=click_id)
        )
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
    resolved = resolve_click_id(conversion, "msclkid")
    assert (resolved.click_id, resolved.clicked_at, resolved.supplied) == (
        "recent",
        T - timedelta(days=2),
        False,
    )
    assert resolve_click_id(conversion.id, "msclkid").click_id == "recent"
    assert resolve_click_id(conversion, "gclid").click_id == "g1"
    assert (
        resolve_click_id(conversion.visitor, "msclkid", at=T + timedelta(days=1)).click_id
        == "after"
    )


def test_window_is_90_days_by_default(app, world) -> None:
    conversion = make(world, [("msclkid", "too-old", timedelta(days=91))])
    assert resolve_click_id(conversion, "msclkid") is None
    assert resolve_click_id(conversion, "msclkid", within=timedelta(days=120)).click_id == "too-old"


def test_a_supplied_msclkid_wins(app, world) -> None:
    conversion = make(
        world, [("msclkid", "captured", timedelta(days=1))], supplied={"msclkid": "from-crm"}
    )
    resolved = resolve_click_id(conversion, "msclkid")
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
    assert resolve_click_id(conversion, "msclkid") is None
    assert resolve_click_id(999_999, "msclkid") is None


def test_a_platform_never_receives_another_platforms_supplied_click(app) -> None:
    """Before click ids were pairs, the sender's msclkid was "the supplied click" for every
    platform: resolving for ``fakeclid`` returned the Microsoft click."""
    found = resolve_clicks(
        [(1, None, T, {"msclkid": "ms-click-123"})], click_params={"fakeclid": timedelta(days=90)}
    )
    assert found[1].click is None
    own = resolve_clicks(
        [(1, None, T, {"msclkid": "ms-click-123", "fakeclid": "fk-1"})],
        click_params={"fakeclid": timedelta(days=90)},
    )
    assert (own[1].click.click_id, own[1].click.param) == ("fk-1", "fakeclid")


def test_a_platform_never_receives_another_platforms_captured_click(app, world) -> None:
    conversion = make(
        world,
        [("msclkid", "ms-recent", timedelta(hours=2)), ("fakeclid", "fk-older", timedelta(days=3))],
    )
    found = resolve_clicks(
        [(conversion.id, conversion.visitor_id, T, {})],
        click_params={"fakeclid": timedelta(days=90)},
    )
    assert (found[conversion.id].click.click_id, found[conversion.id].click.param) == (
        "fk-older",
        "fakeclid",
    )
    none = resolve_clicks(
        [(conversion.id, conversion.visitor_id, T, {})],
        click_params={"exclid": timedelta(days=30)},
    )
    assert none[conversion.id].click is None


def test_each_parameter_has_its_own_window(app, world) -> None:
    conversion = make(world, [("exclid", "ex-40-days", timedelta(days=40))])
    params = {"exclid": timedelta(days=30), "msclkid": timedelta(days=90)}
    found = resolve_clicks([(conversion.id, conversion.visitor_id, T, {})], click_params=params)
    assert found[conversion.id].click is None
