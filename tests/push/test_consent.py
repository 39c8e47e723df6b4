"""Consent carried to the platforms: every upload row carries the conversion's consent to ad
storage (its own, else its visitor's); a workspace that requires consent never sends a conversion
whose consent is denied or unknown, and the status page says why with its own reason code."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from platforms.base import ConversionUpload, Reason
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from tests.conftest import make_world
from tests.helpers import push as h
from webapp.extensions import db
from webapp.intake import tracking
from webapp.models import Connection, Conversion, ConversionDelivery, TrackingSettings, Visitor
from webapp.push import send as push
from webapp.push import states as push_states
from webapp.push.eligibility import GoalFacts, decide

D = ConversionDelivery


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    return h.connect(ms_app, world, emulator)


@pytest.fixture
def uploads(monkeypatch) -> list[ConversionUpload]:
    """What the Microsoft plugin is handed, row by row (it still sends to the emulator)."""
    seen: list[ConversionUpload] = []
    original = MicrosoftAdsPlatform.push_conversions

    def spy(self, session, account, batch):
        seen.extend(batch)
        return original(self, session, account, batch)

    monkeypatch.setattr(MicrosoftAdsPlatform, "push_conversions", spy)
    return seen


def set_consent(conversion_id: int, state: str | None, visitor_state: str | None = None) -> None:
    conversion = db.session.get(Conversion, conversion_id)
    if state is not None:
        conversion.consent_state, conversion.consent_source = state, "api"
    if visitor_state is not None:
        visitor = db.session.get(Visitor, conversion.visitor_id)
        visitor.consent_state, visitor.consent_source = visitor_state, "pixel"
    db.session.commit()


def require_consent(workspace_id: int) -> None:
    tracking.settings_for(workspace_id)
    db.session.get(TrackingSettings, workspace_id).require_consent = True
    db.session.commit()


def test_each_upload_row_carries_the_conversions_consent_else_its_visitors(
    ms_app, world, emulator, connection_id, uploads
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    ws = world.workspace_id
    own, click_own = h.add_conversion(ws)
    inherited, click_inherited = h.add_conversion(ws)
    silent, click_silent = h.add_conversion(ws)
    set_consent(own, "granted", visitor_state="denied")  # the conversion's own word wins
    set_consent(inherited, None, visitor_state="denied")
    summary = push.run(connection_id)
    assert summary.sent == 3
    by_click = {u.click_id: u.ad_storage_consent for u in uploads}
    assert by_click == {click_own: "granted", click_inherited: "denied", click_silent: "unknown"}
    ledger = {d.conversion_id: d.consent for d in db.session.scalars(select(D))}
    assert ledger == {own: "granted", inherited: "denied", silent: "unknown"}


def test_a_workspace_that_requires_consent_sends_only_granted_conversions(
    ms_app, world, emulator, connection_id, uploads
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    ws = world.workspace_id
    require_consent(ws)
    granted, click_granted = h.add_conversion(ws)
    by_visitor, click_by_visitor = h.add_conversion(ws)
    denied, _ = h.add_conversion(ws)
    unknown, _ = h.add_conversion(ws)
    overridden, _ = h.add_conversion(ws)
    set_consent(granted, "granted")
    set_consent(by_visitor, None, visitor_state="granted")
    set_consent(denied, "denied")
    set_consent(overridden, "denied", visitor_state="granted")

    summary = push.run(connection_id)
    assert summary.sent == 2
    assert sorted(u.click_id for u in uploads) == sorted([click_granted, click_by_visitor])
    assert {u.ad_storage_consent for u in uploads} == {"granted"}
    assert sorted(h.accepted_click_ids(emulator)) == sorted([click_granted, click_by_visitor])
    assert set(db.session.scalars(select(D.conversion_id))) == {granted, by_visitor}

    # Troubleshoot (the status page) names the reason, in the host's words.
    states = {
        s.conversion_id: s
        for s in push_states.page(
            db.session.get(Connection, connection_id), push_states.Filters()
        ).rows
    }
    for cid, word in ((denied, "denied"), (unknown, "unknown"), (overridden, "denied")):
        assert (states[cid].state, states[cid].reason) == ("not_eligible", Reason.CONSENT_MISSING)
        assert "requires consent" in states[cid].text and word in states[cid].text

    # Consent granted later (the visitor came back and agreed): the next push sends it.
    set_consent(unknown, None, visitor_state="granted")
    assert push.run(connection_id).sent == 1


def test_without_the_setting_denied_consent_is_still_sent_with_its_signal(
    ms_app, world, emulator, connection_id, uploads
) -> None:
    """Off by default: the workspace has not asked SourceLoop to enforce consent, so the row goes
    out carrying "denied" for a platform that takes the signal to honour."""
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    denied, _ = h.add_conversion(world.workspace_id)
    set_consent(denied, "denied")
    assert push.run(connection_id).sent == 1
    assert [u.ad_storage_consent for u in uploads] == ["denied"]


def test_decide_checks_consent_before_anything_else() -> None:
    from datetime import UTC, datetime

    from platforms.base import UploadRules

    now = datetime(2026, 6, 1, tzinfo=UTC)
    for consent in ("denied", "unknown"):
        verdict = decide(
            rules=UploadRules(),
            occurred_at=now,
            now=now,
            goal=None,  # would be GOAL_MISSING
            click=None,
            consent_required=True,
            consent=consent,
        )
        assert (verdict.state, verdict.code, verdict.facts.consent) == (
            "not_eligible",
            Reason.CONSENT_MISSING,
            consent,
        )
    goal = GoalFacts("Lead", True, "Active", False)
    verdict = decide(
        rules=UploadRules(), occurred_at=now, now=now, goal=goal, click=None,
        consent_required=True, consent="granted",
    )  # fmt: skip
    assert verdict.code == Reason.NO_CLICK


def test_erasure_with_retract_withdraws_sent_conversions_then_deletes_them(
    ms_app, world, emulator, connection_id
) -> None:
    """Through the one adjustments path: a full refund → Microsoft's Retract, quoting the keys
    the ledger kept; then the stripped conversion and its ledger rows are gone."""
    import requests as http

    from tests.intake.helpers import api_key, bearer
    from webapp.models import AdjustmentDelivery, ConversionAdjustment

    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    ws = world.workspace_id
    sent, click_sent = h.add_conversion(ws)
    assert push.run(connection_id).sent == 1
    unsent, _ = h.add_conversion(ws, with_click=False)  # not eligible: never sent
    uid = db.session.get(Visitor, db.session.get(Conversion, sent).visitor_id).uid
    token = api_key(ws)
    client = ms_app.test_client()
    erased = client.post(
        "/api/v1/privacy/erase", json={"visitor_id": uid, "retract": True}, headers=bearer(token)
    )
    assert erased.status_code == 200, erased.json
    assert erased.json["erased"]["retractions_requested"] == 1
    kept = db.session.get(Conversion, sent)
    db.session.refresh(kept)
    assert kept.visitor_id is None and kept.external_id == f"erased:{sent}"
    assert db.session.get(Conversion, unsent) is not None  # another visitor's

    summary = push.run(connection_id)
    assert summary.adjustments_sent == 1
    adjustments = http.get(f"{emulator}/_emulator/adjustments", timeout=10).json()["adjustments"]
    assert [
        (a["Request"]["MicrosoftClickId"], a["Request"]["AdjustmentType"]) for a in adjustments
    ] == [(click_sent, "Retract")]
    db.session.expire_all()
    assert db.session.get(Conversion, sent) is None
    for model in (ConversionDelivery, AdjustmentDelivery, ConversionAdjustment):
        assert db.session.scalar(select(model)) is None, model


def test_erasure_without_retract_deletes_sent_conversions_and_sends_nothing(
    ms_app, world, emulator, connection_id
) -> None:
    import requests as http

    from tests.intake.helpers import api_key, bearer

    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    sent, _ = h.add_conversion(world.workspace_id)
    assert push.run(connection_id).sent == 1
    uid = db.session.get(Visitor, db.session.get(Conversion, sent).visitor_id).uid
    token = api_key(world.workspace_id)
    client = ms_app.test_client()
    erased = client.post("/api/v1/privacy/erase", json={"visitor_id": uid}, headers=bearer(token))
    assert erased.json["erased"]["sent_ledger_rows"] == 1
    assert push.run(connection_id).adjustments_sent == 0
    assert http.get(f"{emulator}/_emulator/adjustments", timeout=10).json()["adjustments"] == []
    db.session.expire_all()
    assert db.session.get(Conversion, sent) is None
