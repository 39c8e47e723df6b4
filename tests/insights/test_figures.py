"""The dashboard's figures (issue 12 item 5): computed by one function from the state model, the
insights store and Insights' SourceLoop revenue, shown identically on the page and in the API.

Complementary to ``tests/push/test_cross_count.py`` (which checks every page's counts by state
against the per-conversion rows): here the dashboard's derived figures for today and the last 7
days (captured, eligible, pushed, accepted, match rate, spend, revenue, ROAS) are checked against
the same per-conversion rows and the stored money, on the same mixed workload.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import tests.helpers.push as h
from tests.conftest import client_as, make_world
from tests.intake.helpers import api_key
from tests.push.test_cross_count import _all_rows, _build
from webapp.accounts import setup_checklist
from webapp.attribution import credits
from webapp.extensions import db
from webapp.insights import figures
from webapp.intake import tracking
from webapp.models import (
    Connection,
    Conversion,
    ConversionAdjustment,
    InsightDaily,
    InsightSyncState,
)
from webapp.models.types import utcnow
from webapp.push import send as push
from webapp.push import states


@pytest.fixture
def world(ms_app, redis):
    return make_world()


def _spend(connection_id: int, day, amount: str, currency: str, level: str = "campaign") -> None:
    db.session.add(
        InsightDaily(
            connection_id=connection_id,
            level=level,
            entity_id=f"{level}-{day}-{amount}",
            day=day,
            spend=Decimal(amount),
            currency=currency,
        )
    )


def _page_figures(html: str, name: str) -> dict[str, str]:
    block = html.split(f'data-testid="figures-{name}"', 1)[1].split("</section>", 1)[0]
    return dict(re.findall(r'data-figure="(\w+)">([^<]*)<', block))


def _current_value(conversion: Conversion) -> Decimal:
    latest = db.session.scalars(
        select(ConversionAdjustment.new_value)
        .where(ConversionAdjustment.conversion_id == conversion.id)
        .order_by(ConversionAdjustment.occurred_at.desc())
    ).first()
    return latest if latest is not None else conversion.value


def test_dashboard_figures_equal_the_per_conversion_rows(ms_app, world, emulator) -> None:
    a, b, _expect = _build(ms_app, world, emulator)
    ws = world.workspace_id
    today = utcnow().date()
    _spend(a, today, "50.00", "USD")
    _spend(a, today - timedelta(days=3), "25.00", "USD")
    _spend(a, today - timedelta(days=3), "999.00", "USD", level="ad_group")  # not added twice
    _spend(a, today - timedelta(days=9), "400.00", "USD")  # outside both periods
    _spend(b, today, "10.00", "GBP")
    db.session.commit()

    # Two conversions sent with a click id: a paid touch of the platform each, so the
    # attribution job credits their whole value to it (the captured clicks above have no visit,
    # so theirs stay unattributed).
    for _ in range(2):
        h.add_conversion(ws, msclkid=h.click_id(), with_click=False, value="80.00")
    credits.run(ws)  # the attribution job: SourceLoop's revenue is the credited revenue
    rows = _all_rows(db.session.get(Connection, a)) + _all_rows(db.session.get(Connection, b))
    member = client_as(ms_app, "member")
    html = member.get(f"/w/{ws}/").get_data(as_text=True)
    api = member.get("/api/v1/figures", headers={"Authorization": f"Bearer {api_key(ws)}"})
    assert api.status_code == 200
    shown_api = api.get_json()

    for name, (start, end) in figures.periods().items():
        inside = [r for r in rows if start <= states._aware(r.occurred_at) < end]
        tally = {st: sum(1 for r in inside if r.state == st) for st in states.STATES}
        retrying = sum(1 for r in inside if r.reason == "retry_later")
        want_eligible = (
            (tally["queued"] + tally["sending"] + tally["sent"] + tally["rejected"])
            + tally["adjusted"]
            + retrying
        )
        want_pushed = tally["sent"] + tally["adjusted"] + tally["rejected"]
        want_accepted = tally["sent"] + tally["adjusted"]
        captured = db.session.scalars(
            select(Conversion).where(
                Conversion.workspace_id == ws,
                Conversion.occurred_at >= start,
                Conversion.occurred_at < end,
            )
        ).all()
        got = figures.figures(ws, start, end)
        assert got.states == tally
        assert (got.captured, got.eligible, got.pushed, got.accepted) == (
            len(captured),
            want_eligible,
            want_pushed,
            want_accepted,
        )
        assert got.pushed > 0 and got.accepted < got.pushed  # a rejected row is in the workload
        # Microsoft said 25 of 55 of today's uploads (A: 20 of 30, B: 5 of 25) were matched.
        assert got.match_rate.quantize(Decimal("0.1")) == Decimal("45.5")
        spend_usd = Decimal("50.00") + (Decimal("25.00") if name == "last_7_days" else 0)
        revenue_usd = Decimal("160.00")
        usd = got.money[0]
        assert usd.currency == "USD"  # the workspace's currency first
        assert (usd.spend, usd.revenue) == (spend_usd, revenue_usd)
        assert usd.roas == revenue_usd / spend_usd
        gbp = next(m for m in got.money if m.currency == "GBP")
        assert (gbp.spend, gbp.revenue) == (Decimal("10.00"), Decimal(0))

        page = _page_figures(html, name)
        assert page["captured"] == str(len(captured))
        assert page["eligible"] == str(want_eligible)
        assert page["pushed"] == str(want_pushed)
        assert page["accepted"] == str(want_accepted)
        assert page["match_rate"] == "45.5%"
        assert page["roas"] == f"{revenue_usd / spend_usd:.2f}"
        assert page["spend"].replace(",", "").startswith(f"{spend_usd:.2f}") or (
            f"{spend_usd:,.2f}" in page["spend"]
        )
        served = shown_api[name]
        assert (served["captured"], served["eligible"], served["pushed"], served["accepted"]) == (
            len(captured),
            want_eligible,
            want_pushed,
            want_accepted,
        )
        assert served["states"] == tally and served["match_rate"] == "45.5"
        assert served["money"][0] == {
            "currency": "USD",
            "spend": str(usd.spend),
            "revenue": str(usd.revenue),
            "roas": f"{usd.roas:.2f}",
        }
    # The 100-day-old conversion is in neither period; the state model still counts it overall.
    assert (
        states.count_states(ws)["not_eligible"]
        > figures.dashboard(ws)["last_7_days"].states["not_eligible"]
    )


def test_figures_api_needs_a_key(ms_app, world) -> None:
    response = client_as(ms_app, None).get("/api/v1/figures")
    assert response.status_code == 401 and response.get_json()["error"]["status"] == 401
    wrong = client_as(ms_app, None).get(
        "/api/v1/figures", headers={"Authorization": "Bearer sl_live_nope"}
    )
    assert wrong.status_code == 401


def test_a_new_workspace_sees_empty_figures_and_the_checklist(ms_app, world) -> None:
    html = client_as(ms_app, "member").get(f"/w/{world.workspace_id}/").get_data(as_text=True)
    assert 'data-testid="setup-checklist"' in html and "0 of 6 done" in html
    assert html.count('data-done="false"') == 6
    assert 'data-testid="figures-empty"' in html and 'data-testid="no-connections"' in html
    assert html.index('data-testid="setup-checklist"') < html.index("Recent activity")
    assert html.index('data-testid="figures-today"') < html.index("Recent activity")


def test_the_checklist_ticks_from_real_data(ms_app, world, emulator) -> None:
    ws = world.workspace_id

    def done() -> list[str]:
        return [s.key for s in setup_checklist.steps(ws) if s.done]

    assert done() == []
    settings = tracking.settings_for(ws)
    settings.allowed_domains = ["shop.example"]
    db.session.commit()
    assert done() == ["pixel"]
    settings.last_hit_at, settings.last_hit_domain = utcnow(), "shop.example"
    db.session.commit()
    assert done() == ["pixel", "first_hit"]
    connection_id = h.connect(ms_app, world, emulator)
    assert done() == ["pixel", "first_hit", "connect"]
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    assert done()[-1] == "map_goals"
    h.add_conversion(ws)
    push.run(connection_id)
    assert done()[-1] == "first_push"
    db.session.merge(InsightSyncState(connection_id=connection_id, last_success_at=utcnow()))
    db.session.commit()
    assert len(done()) == 6
    html = client_as(ms_app, "member").get(f"/w/{ws}/").get_data(as_text=True)
    assert 'data-testid="setup-checklist"' not in html  # all done: the checklist goes away
    assert 'data-testid="health-card"' in html
    # Links go where each step is done.
    steps = {s.key: s for s in setup_checklist.steps(ws)}
    assert steps["map_goals"].endpoint == "push.configure"
    assert steps["map_goals"].connection_id == connection_id
    assert db.session.scalar(select(func.count()).select_from(Conversion)) == 1
