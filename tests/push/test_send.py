"""The push service against the real emulator process (in this process, no worker): what
Microsoft receives, per-row errors, retries without resending, token refresh, revoked grants,
adjustments, enhanced conversions and the 90-day backfill."""

from __future__ import annotations

import hashlib
import time
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from sqlalchemy import func, select

from platforms.errors import RateLimited, ReconnectRequired, TransientError
from tests.conftest import make_world
from tests.helpers import push as h
from webapp.extensions import db
from webapp.models import (
    AdjustmentDelivery,
    Connection,
    ConversionAdjustment,
    ConversionDelivery,
    JobRun,
    PlatformGoal,
    PushRun,
)
from webapp.models.types import utcnow
from webapp.push import ledger as push_ledger
from webapp.push import send as push

D = ConversionDelivery


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    return h.connect(ms_app, world, emulator)


def ledger(connection_id: int) -> dict[int, ConversionDelivery]:
    db.session.expire_all()
    rows = db.session.scalars(select(D).where(D.connection_id == connection_id))
    return {row.conversion_id: row for row in rows}


def test_eligible_conversions_reach_microsoft_once_with_value_currency_and_fixed_time(
    ms_app, world, emulator, connection_id
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON, "demo": h.DEMO_BOOKED})
    ws = world.workspace_id
    occurred = utcnow().replace(microsecond=654321) - timedelta(hours=3)
    ok, click = h.add_conversion(ws, occurred_at=occurred, value="120.50")
    too_big, _ = h.add_conversion(ws, value="9999999999999")
    demo, _ = h.add_conversion(ws, "demo")
    no_click, _ = h.add_conversion(ws, with_click=False)
    summary = push.run(connection_id)
    assert (summary.sent, summary.failed, summary.api_calls) == (1, 1, 1)

    rows = h.received(emulator)
    accepted = [r for r in rows if r["Status"] == "Accepted"]
    assert len(accepted) == 1
    sent = accepted[0]["Request"]
    assert sent["MicrosoftClickId"] == click
    assert sent["ConversionName"] == "Closed won"
    assert sent["ConversionTime"] == occurred.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (sent["ConversionValue"], sent["ConversionCurrencyCode"]) == (120.5, "USD")

    book = ledger(connection_id)
    assert book[ok].status == D.SENT and book[ok].sent_at and book[ok].attempts == 1
    assert book[ok].conversion_time == occurred  # fixed once, to the microsecond
    assert book[too_big].status == D.FAILED and book[too_big].error_code == "5610"
    assert "value" in book[too_big].error_message.lower()
    # The goal is younger than two hours: Microsoft said 5615, the row waits, pending.
    assert book[demo].status == D.PENDING and book[demo].error_code == "5615"
    assert book[demo].next_attempt_at > utcnow()
    goal = db.session.scalar(select(PlatformGoal).where(PlatformGoal.goal_id == h.DEMO_BOOKED))
    assert goal.too_recent_until is not None
    assert no_click not in book  # not eligible: no ledger row, nothing sent

    again = push.run(connection_id)
    assert (again.sent, again.api_calls) == (0, 0)  # nothing is resent
    assert len(h.received(emulator)) == len(rows)
    run = db.session.scalars(select(PushRun).order_by(PushRun.id)).first()
    assert (run.sent, run.failed, run.api_calls) == (1, 1, 1) and run.finished_at


def test_a_rate_limit_mid_run_releases_the_batch_and_never_resends_accepted_rows(
    ms_app, world, emulator, connection_id, monkeypatch
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    for _ in range(5):
        h.add_conversion(world.workspace_id)
    platform = ms_app.extensions["platforms"].get("microsoft_ads")
    monkeypatch.setattr(platform, "max_batch_size", 2)
    original = platform.push_conversions
    calls = []

    def first_ok_then_throttled(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            h.arm(emulator, "ApplyOfflineConversions", "throttle")
        return original(*args, **kwargs)

    monkeypatch.setattr(platform, "push_conversions", first_ok_then_throttled)
    with pytest.raises(RateLimited):
        push.run(connection_id)
    rows = ledger(connection_id).values()
    # The batch in flight went back to pending, and so did the next batch, planned while the
    # call was on the wire and never sent (its claim is not counted as an attempt); nothing is
    # left "sending".
    assert sorted(row.status for row in rows) == ["pending"] * 3 + ["sent"] * 2
    assert sorted(row.attempts for row in rows) == [0, 1, 1, 1, 1]
    summary = push.run(connection_id)
    assert summary.sent == 3
    rows = h.received(emulator)
    assert [r["Status"] for r in rows].count("Accepted") == 5
    assert all(r["Status"] == "Accepted" for r in rows)  # not even a duplicate was sent


def test_the_next_batch_is_planned_while_a_call_is_on_the_wire(
    ms_app, world, emulator, connection_id, monkeypatch
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    for _ in range(6):
        h.add_conversion(world.workspace_id)
    platform = ms_app.extensions["platforms"].get("microsoft_ads")
    monkeypatch.setattr(platform, "max_batch_size", 2)
    original_send, original_insert = platform.push_conversions, push_ledger._insert_claimed
    log: list[tuple[str, int]] = []

    def slow_send(session, account, batch):
        log.append(("call starts", len(batch)))
        time.sleep(0.3)  # the platform takes its time; the plan goes on meanwhile
        outcomes = original_send(session, account, batch)
        log.append(("call ends", len(batch)))
        return outcomes

    def insert(*args, **kwargs):
        log.append(("planned", len(args[1])))
        return original_insert(*args, **kwargs)

    monkeypatch.setattr(platform, "push_conversions", slow_send)
    monkeypatch.setattr(push_ledger, "_insert_claimed", insert)
    summary = push.run(connection_id)
    assert (summary.sent, summary.api_calls) == (6, 3)
    kinds = [kind for kind, _n in log]
    calls = [kind for kind in kinds if kind != "planned"]
    assert calls == ["call starts", "call ends"] * 3  # never more than one call in flight
    plans = [i for i, kind in enumerate(kinds) if kind == "planned"]
    ends = [i for i, kind in enumerate(kinds) if kind == "call ends"]
    # Batches 2 and 3 are planned while the call before each of them is on the wire.
    assert len(plans) == 3 and plans[1] < ends[0] and plans[2] < ends[1]
    assert len(h.received(emulator)) == 6


def test_a_failure_while_planning_the_next_batch_still_records_the_call_in_flight(
    ms_app, world, emulator, connection_id, monkeypatch
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    for _ in range(4):
        h.add_conversion(world.workspace_id)
    platform = ms_app.extensions["platforms"].get("microsoft_ads")
    monkeypatch.setattr(platform, "max_batch_size", 2)
    original_insert = push_ledger._insert_claimed
    inserts: list[int] = []

    def insert_then_fail(*args, **kwargs):
        inserts.append(1)
        if len(inserts) == 2:
            raise RuntimeError("database went away while planning")
        return original_insert(*args, **kwargs)

    monkeypatch.setattr(push_ledger, "_insert_claimed", insert_then_fail)
    with pytest.raises(RuntimeError, match="went away"):
        push.run(connection_id)
    rows = ledger(connection_id).values()
    # The first batch reached Microsoft and is recorded as sent; the second was never planned.
    assert sorted(row.status for row in rows) == ["sent", "sent"]
    assert len(h.received(emulator)) == 2
    monkeypatch.setattr(push_ledger, "_insert_claimed", original_insert)
    assert push.run(connection_id).sent == 2
    assert len(h.received(emulator)) == 4  # nothing sent twice


def test_a_refresh_that_fails_before_a_call_leaves_the_batch_pending(
    ms_app, world, emulator, connection_id, monkeypatch
) -> None:
    from webapp.connections.credentials import CredentialSession

    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    for _ in range(2):
        h.add_conversion(world.workspace_id)
    original = CredentialSession.ensure_active_token

    def unreachable(self):
        # The token endpoint is down once a batch is claimed (right before its call); the goals
        # call before any planning still goes out.
        claimed = db.session.scalar(
            select(func.count())
            .select_from(ConversionDelivery)
            .where(ConversionDelivery.status == ConversionDelivery.SENDING)
        )
        if claimed:
            raise TransientError("token endpoint unreachable: ConnectionError")
        return original(self)

    monkeypatch.setattr(CredentialSession, "ensure_active_token", unreachable)
    with pytest.raises(TransientError):
        push.run(connection_id)
    rows = ledger(connection_id).values()
    assert sorted(row.status for row in rows) == ["pending", "pending"]  # not left "sending"
    assert h.received(emulator) == []
    monkeypatch.setattr(CredentialSession, "ensure_active_token", original)
    assert push.run(connection_id).sent == 2


def test_an_access_token_refused_as_expired_is_refreshed_once(
    ms_app, world, emulator, connection_id
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    h.add_conversion(world.workspace_id)
    before = db.session.get(Connection, connection_id).credential.access_token
    h.arm(emulator, "ApplyOfflineConversions", "expired_token")
    assert push.run(connection_id).sent == 1
    db.session.expire_all()
    assert db.session.get(Connection, connection_id).credential.access_token != before


def test_a_revoked_grant_loses_nothing_and_the_backlog_drains_after_reconnect(
    ms_app, world, emulator, connection_id
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    first, _ = h.add_conversion(world.workspace_id)
    assert push.run(connection_id).sent == 1
    h.revoke_grant(emulator, connection_id)
    backlog = [h.add_conversion(world.workspace_id)[0] for _ in range(3)]
    with pytest.raises(ReconnectRequired):
        push.run(connection_id)
    db.session.expire_all()
    assert db.session.get(Connection, connection_id).status == Connection.RECONNECT_NEEDED
    assert push.run(connection_id).skipped  # paused, not failing, while it needs a person
    h.reconnect(ms_app, world, emulator, connection_id)
    assert push.run(connection_id).sent == 3
    book = ledger(connection_id)
    assert all(book[c].status == D.SENT for c in [first, *backlog])
    assert len(h.accepted_click_ids(emulator)) == 4


def test_refunds_retract_and_partial_refunds_restate_quoting_the_original_keys(
    ms_app, world, emulator, connection_id
) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    full, click_full = h.add_conversion(world.workspace_id, value="200")
    partial, click_partial = h.add_conversion(world.workspace_id, value="300")
    push.run(connection_id)
    now = utcnow()
    db.session.add_all(
        [
            ConversionAdjustment(
                workspace_id=world.workspace_id,
                conversion_id=full,
                kind="refund",
                new_value=Decimal("0"),
                currency="USD",
                occurred_at=now - timedelta(minutes=1),
                external_id="re_full",
            ),
            ConversionAdjustment(
                workspace_id=world.workspace_id,
                conversion_id=partial,
                kind="refund",
                new_value=Decimal("120.00"),
                currency="USD",
                occurred_at=now - timedelta(minutes=1),
                external_id="re_partial",
            ),
        ]
    )
    db.session.commit()
    summary = push.run(connection_id)
    assert summary.adjustments_sent == 2
    # The one send loop counts every call, adjustments included (the old second loop did not).
    assert summary.api_calls == 1 and summary.calls_by_goal == {"Closed won": 1}
    adjustments = requests.get(f"{emulator}/_emulator/adjustments", timeout=10).json()
    by_click = {a["Request"]["MicrosoftClickId"]: a for a in adjustments["adjustments"]}
    book = ledger(connection_id)
    retract = by_click[click_full]["Request"]
    assert retract["AdjustmentType"] == "Retract" and "AdjustmentValue" not in retract
    assert retract["ConversionName"] == "Closed won"
    assert retract["ConversionTime"] == book[full].conversion_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    restate = by_click[click_partial]["Request"]
    assert restate["AdjustmentType"] == "Restate" and restate["AdjustmentValue"] == 120.0
    assert all(a["Status"] == "Accepted" for a in adjustments["adjustments"])
    rows = db.session.scalars(select(AdjustmentDelivery)).all()
    assert {r.status for r in rows} == {"sent"}
    assert push.run(connection_id).adjustments_sent == 0  # sent once only


def test_enhanced_conversions_send_hashes_and_hash_only_rows_go_to_enhanced_goals_only(
    ms_app, world, emulator, connection_id
) -> None:
    digest = hashlib.sha256(b"jane@example.com").hexdigest()
    h.configure(
        world,
        connection_id,
        {"purchase": h.CLOSED_WON, "lead": h.QUALIFIED_LEAD},
        enhanced=True,
    )
    ws = world.workspace_id
    # Matched by hash, the click's time is unknown: the wait runs from the conversion.
    settled = utcnow() - timedelta(hours=2)
    lead_by_hash, _ = h.add_conversion(
        ws, "lead", with_click=False, email_sha256=digest, occurred_at=settled
    )
    purchase_by_hash, _ = h.add_conversion(
        ws, with_click=False, email_sha256=digest, occurred_at=settled
    )
    purchase_with_click, click = h.add_conversion(ws, email_sha256=digest)
    summary = push.run(connection_id)
    assert summary.sent == 2 and summary.failed == 0
    requests_sent = [r["Request"] for r in h.received(emulator) if r["Status"] == "Accepted"]
    hash_only = next(r for r in requests_sent if r["ConversionName"] == "Qualified lead")
    assert "MicrosoftClickId" not in hash_only and hash_only["HashedEmailAddress"] == digest
    with_click = next(r for r in requests_sent if r["ConversionName"] == "Closed won")
    assert with_click["MicrosoftClickId"] == click and with_click["HashedEmailAddress"] == digest
    book = ledger(connection_id)
    assert purchase_by_hash not in book  # Closed won has no enhanced conversions
    assert {lead_by_hash, purchase_with_click} <= set(book)


def test_without_the_opt_in_no_hash_leaves_sourceloop(
    ms_app, world, emulator, connection_id
) -> None:
    digest = hashlib.sha256(b"jane@example.com").hexdigest()
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    h.add_conversion(world.workspace_id, email_sha256=digest)
    push.run(connection_id)
    [row] = h.received(emulator)
    assert "HashedEmailAddress" not in row["Request"]


def test_connecting_enqueues_a_backfill_of_the_last_90_days(ms_app, world, emulator, redis) -> None:
    from jobs.queues import PUSH, get_queue

    ws = world.workspace_id
    now = utcnow()
    recent, _ = h.add_conversion(ws, occurred_at=now - timedelta(days=30))
    old, _ = h.add_conversion(ws, occurred_at=now - timedelta(days=89))
    too_old, _ = h.add_conversion(ws, occurred_at=now - timedelta(days=95))
    connection_id = h.connect(ms_app, world, emulator)
    queued = get_queue(PUSH, ms_app.config["REDIS_URL"]).job_ids
    assert any(job_id.startswith(f"push-{connection_id}-") for job_id in queued)
    run = db.session.scalar(select(JobRun).where(JobRun.kind == "push"))
    assert run.connection_id == connection_id and run.workspace_id == ws
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    assert push.run(connection_id).sent == 2
    assert set(ledger(connection_id)) == {recent, old}
    assert too_old not in ledger(connection_id)


def test_switched_off_pushes_nothing(ms_app, world, emulator, connection_id) -> None:
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON}, enabled=False)
    h.add_conversion(world.workspace_id)
    assert "switched off" in push.run(connection_id).skipped
    assert h.received(emulator) == []
    assert db.session.scalar(select(func.count()).select_from(D)) == 0


def test_the_push_plan_and_the_status_page_agree_on_every_conversion(
    ms_app, world, emulator, connection_id
) -> None:
    """One eligibility pipeline: what Troubleshoot says of a not-yet-planned conversion is what
    the plan then does with it, hashes included (they disagreed on when hashes count)."""
    from webapp.push import config as push_config
    from webapp.push import ledger as push_ledger
    from webapp.push import states as push_states

    h.configure(
        world, connection_id, {"purchase": h.CLOSED_WON, "lead": h.QUALIFIED_LEAD}, enhanced=True
    )
    digest = "a" * 64
    cases = {
        "click": h.add_conversion(world.workspace_id)[0],
        "hash, enhanced goal": h.add_conversion(
            world.workspace_id, "lead", email_sha256=digest, with_click=False
        )[0],
        "settled hash, enhanced goal": h.add_conversion(
            world.workspace_id,
            "lead",
            email_sha256=digest,
            with_click=False,
            occurred_at=utcnow() - timedelta(hours=6),
        )[0],
        "hash, plain goal": h.add_conversion(
            world.workspace_id, email_sha256=digest, with_click=False
        )[0],
        "nothing": h.add_conversion(world.workspace_id, with_click=False)[0],
        "fresh click": h.add_conversion(
            world.workspace_id, clicked_at=utcnow() - timedelta(minutes=10)
        )[0],
    }
    connection = db.session.get(Connection, connection_id)
    push_config.fetch_goals(connection_id)

    def shown() -> dict[int, tuple[str, str]]:
        rows = push_states.page(connection, push_states.Filters(), limit=100).rows
        return {r.conversion_id: (r.state, r.reason) for r in rows}

    # Before any plan nothing is decided, and the state model says so.
    assert set(shown().values()) == {("waiting", "unchecked")}
    plan = push_ledger.plan(
        connection,
        push_config.config_for(connection_id),
        push_config.mappings_for(connection_id),
        push_config.goal_facts(connection_id),
        platform=push_config.platform_for(connection),
        now=utcnow(),
    )
    after = shown()
    planned = set(ledger(connection_id))
    assert (
        {name for name, cid in cases.items() if cid in planned}
        == {name for name, cid in cases.items() if after[cid][0] == "queued"}
        == {"click", "settled hash, enhanced goal"}
    )
    # A hash-only match has no click time: it waits after the conversion, like a fresh click.
    waiting = {name for name, cid in cases.items() if after[cid][0] == "waiting"}
    assert waiting == {"hash, enhanced goal", "fresh click"} and plan.waiting == 2
    assert after[cases["fresh click"]][1] == "click_settling"
    counts = push_states.count_states(world.workspace_id, connection_id=connection_id)
    # The run's figures (Troubleshoot's runs table) and the state counts (its pills) agree.
    assert (counts["queued"], counts["waiting"], counts["not_eligible"]) == (
        plan.planned,
        plan.waiting,
        plan.not_eligible,
    )
    assert plan.not_eligible == sum(st == "not_eligible" for st, _ in after.values()) == 2
