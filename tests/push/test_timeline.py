"""The conversion page's delivery timeline (issue 12 item 4): eligibility decisions with their
reason, each attempt with its push run and Microsoft's answer, retries and calls that did not
complete, adjustments, where the conversion stands now, and what Microsoft later said about its
goal and day. Real pushes against the emulator; the migration that adds the events goes up and
down."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, update

import tests.helpers.push as h
from platforms.errors import RateLimited
from tests.conftest import client_as, make_app, make_world
from webapp.extensions import db
from webapp.models import (
    AdClick,
    ConversionAdjustment,
    DeliveryEvent,
    GoalDiagnosticsDaily,
    PushRun,
)
from webapp.models.types import utcnow
from webapp.push import send as push
from webapp.push import timeline


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    cid = h.connect(ms_app, world, emulator)
    h.configure(world, cid, {"purchase": h.CLOSED_WON})
    return cid


def _runs(connection_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(PushRun.id).where(PushRun.connection_id == connection_id).order_by(PushRun.id)
        )
    )


def _steps(conversion_id: int):
    from webapp.models import Conversion

    (delivery,) = timeline.for_conversion(db.session.get(Conversion, conversion_id))
    return delivery


def test_a_settling_click_then_accepted_then_restated_then_what_microsoft_said(
    ms_app, world, emulator, connection_id
) -> None:
    ws = world.workspace_id
    conversion_id, _click = h.add_conversion(ws, clicked_at=utcnow() - timedelta(minutes=10))
    push.run(connection_id)  # the click is too fresh: waiting
    push.run(connection_id)  # the same decision again: not a second step
    db.session.execute(
        update(AdClick)
        .where(AdClick.workspace_id == ws)
        .values(clicked_at=utcnow() - timedelta(hours=3))
    )
    db.session.commit()
    push.run(connection_id)  # eligible now, accepted
    db.session.add(
        ConversionAdjustment(
            workspace_id=ws,
            conversion_id=conversion_id,
            kind="refund",
            new_value=Decimal("40.00"),
            currency="USD",
            occurred_at=utcnow() - timedelta(minutes=1),
            external_id="re_1",
        )
    )
    db.session.commit()
    push.run(connection_id)  # the restatement
    db.session.add(
        GoalDiagnosticsDaily(
            connection_id=connection_id,
            goal_id=h.CLOSED_WON,
            goal_name="Closed won",
            day=utcnow().date(),
            success_count=0,
            unattributed_count=117,
            reasons={"NoMatchingClickFound": 117},
        )
    )
    db.session.commit()

    delivery = _steps(conversion_id)
    runs = _runs(connection_id)
    got = [(s.kind, s.outcome, s.reason) for s in delivery.steps]
    assert got == [
        ("decision", "waiting", "click_settling"),
        ("decision", "eligible", "eligible_by_click"),
        ("attempt", "sent", "sent"),
        ("adjustment", "sent", "sent"),
        ("said", "said", ""),
    ]
    waiting, eligible, sent, restated, said = delivery.steps
    assert "msclkid" in waiting.text or "click" in waiting.text.lower()
    assert sent.push_run_id == runs[2] and restated.push_run_id == runs[3]
    assert f"(push run {runs[2]})" in sent.title and "accepted by Microsoft" in sent.title
    assert "Restatement to 40.0000 USD" in restated.title or "40.00" in restated.title
    assert "0 attributed" in said.text and said.said_reasons == {"NoMatchingClickFound": 117}
    # Microsoft's reason in its words (from the plugin), the code beside them in small print.
    words = said.said_words["NoMatchingClickFound"]
    assert words and words != "NoMatchingClickFound" and "msclkid" in words
    # Where it stands now: the state model's row, the same as Troubleshoot and the API.
    assert [(r.state, r.reason) for r in delivery.now] == [("adjusted", "adjusted")]

    html = client_as(ms_app, "member").get(f"/w/{ws}/conversions/{conversion_id}")
    page = html.get_data(as_text=True)
    assert html.status_code == 200
    assert page.count('data-kind="decision"') == 2 and f'data-run="{runs[2]}"' in page
    assert "What Microsoft Ads later said" in page and 'data-state="adjusted"' in page
    reasons = page.split('data-testid="said-reasons">')[1].split("</div>")[0]
    assert words in reasons and "<code>NoMatchingClickFound</code></span>: 117" in reasons
    assert page.index("Waiting") < page.index("Eligible") < page.index("accepted by Microsoft")


def test_refused_rows_show_the_code_and_the_fix(ms_app, world, emulator, connection_id) -> None:
    conversion_id, _ = h.add_conversion(world.workspace_id, value="9999999999999")
    push.run(connection_id)
    delivery = _steps(conversion_id)
    refused = delivery.steps[-1]
    assert (refused.kind, refused.outcome, refused.error_code) == ("attempt", "rejected", "5610")
    assert "refused by Microsoft Ads with code 5610" in refused.title and refused.text
    assert [r.state for r in delivery.now] == ["rejected"]


def test_a_call_that_did_not_complete_then_the_retry(
    ms_app, world, emulator, connection_id
) -> None:
    conversion_id, _ = h.add_conversion(world.workspace_id)
    h.arm(emulator, "ApplyOfflineConversions", "throttle")
    with pytest.raises(RateLimited):
        push.run(connection_id)
    push.run(connection_id)
    delivery = _steps(conversion_id)
    outcomes = [(s.kind, s.outcome) for s in delivery.steps]
    assert outcomes == [("decision", "eligible"), ("attempt", "released"), ("attempt", "sent")]
    released = delivery.steps[1]
    runs = _runs(connection_id)
    assert released.push_run_id == runs[0] and delivery.steps[2].push_run_id == runs[1]
    assert "did not complete" in released.title and "next push" in released.text


def test_not_eligible_and_unmapped_conversions(ms_app, world, emulator, connection_id) -> None:
    no_click, _ = h.add_conversion(world.workspace_id, with_click=False)
    push.run(connection_id)
    delivery = _steps(no_click)
    assert [(s.outcome, s.reason) for s in delivery.steps] == [("not_eligible", "no_click")]
    assert delivery.steps[0].fix  # the plugin's fix for the reason code
    other, _ = h.add_conversion(world.workspace_id, "newsletter")  # no goal takes this event
    from webapp.models import Conversion

    assert timeline.for_conversion(db.session.get(Conversion, other)) == []
    page = client_as(ms_app, "member").get(f"/w/{world.workspace_id}/conversions/{other}")
    assert 'data-testid="no-delivery"' in page.get_data(as_text=True)


def test_rows_delivered_before_events_were_recorded_still_have_a_timeline(
    ms_app, world, emulator, connection_id
) -> None:
    conversion_id, _ = h.add_conversion(world.workspace_id)
    push.run(connection_id)
    db.session.query(DeliveryEvent).delete()
    db.session.commit()
    delivery = _steps(conversion_id)
    assert [(s.outcome) for s in delivery.steps] == ["eligible", "sent"]


def test_the_delivery_events_migration_goes_up_and_down(tmp_path: Path, redis_url) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'm.db'}", redis_url)
    with app.app_context():
        upgrade()
        assert "delivery_events" in inspect(db.engine).get_table_names()
        downgrade(revision="a9d3c5e7f1b2")
        assert "delivery_events" not in inspect(db.engine).get_table_names()
        upgrade()
        assert "delivery_events" in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()


def test_the_page_names_the_hashes_a_conversion_carries_or_says_it_has_none(
    ms_app, world, emulator, connection_id
) -> None:
    member = client_as(ms_app, "member")
    hashed, _ = h.add_conversion(world.workspace_id, email_sha256="a" * 64)
    bare, _ = h.add_conversion(world.workspace_id)

    def identity(conversion_id: int) -> str:
        html = member.get(f"/w/{world.workspace_id}/conversions/{conversion_id}").get_data(
            as_text=True
        )
        cell = html.split('data-testid="identity">', 1)[1].split("</td>", 1)[0]
        return " ".join(cell.replace('<span class="muted">', "").replace("</span>", "").split())

    assert identity(hashed) == "email hash"
    assert identity(bare) == "none: no email or phone came with it"
