"""A conversion's real-time status (capability ``realtime_events``) per connection, on the
conversion page (its delivery card and timeline) and in the read API's conversion resource:
both from ``realtime_status.for_conversions``, cross-checked here state by state against the
Microsoft emulator's UET Conversions API: sent, refused with the platform's code, held for
consent, skipped (too old for the platform's window; an event not chosen) and not planned yet."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import client_as
from tests.helpers import push as h
from webapp.accounts import api_keys
from webapp.extensions import db
from webapp.intake import tracking
from webapp.models import Conversion, RealtimeDelivery
from webapp.models.types import utcnow
from webapp.push import realtime, realtime_status

_BLOCK = re.compile(r'<p data-testid="realtime-now"(?P<attrs>[^>]*)>(?P<body>.*?)</p>', re.S)
_ATTR = re.compile(r'data-(connection|state|reason)="([^"]*)"')
_PART = re.compile(r'data-testid="realtime-(text|fix|event-id|code|attempts)">(.*?)</', re.S)
_LABEL = re.compile(r'<span class="pill pill-[a-z_]+">(.*?)</span>')


@pytest.fixture
def world(ms_app):
    return h.world_with_events("purchase", "signup")


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    connection_id = h.connect(ms_app, world, emulator)
    assert h.enable_realtime(world, connection_id) == {}
    return connection_id


def page_states(client, workspace_id: int, conversion_id: int) -> tuple[list[dict], str]:
    """What the conversion page shows of the real-time path, as the API names it."""
    answer = client.get(f"/w/{workspace_id}/conversions/{conversion_id}")
    assert answer.status_code == 200
    body = answer.get_data(as_text=True)
    shown = []
    for block in _BLOCK.finditer(body):
        attrs = dict(_ATTR.findall(block["attrs"]))
        parts = {k: html.unescape(v) for k, v in _PART.findall(block["body"])}
        shown.append(
            {
                "connection_id": int(attrs["connection"]),
                "state": attrs["state"],
                "reason": attrs["reason"],
                "label": html.unescape(_LABEL.search(block["body"])[1]),
                "message": parts.get("text"),
                "fix": parts.get("fix"),
                "event_id": parts.get("event-id"),
                "error_code": parts.get("code"),
                "attempts": int(parts.get("attempts", 0)),
            }
        )
    return shown, body


def api_states(api, external_id: str) -> list[dict]:
    answer = api.get("/api/v1/conversions", query_string={"external_id": external_id})
    assert answer.status_code == 200
    keys = ("connection_id", "state", "reason", "label", "message", "fix", "event_id",
            "error_code", "attempts")  # fmt: skip
    return [{k: s[k] for k in keys} for s in answer.json["conversion"]["realtime"]]


def test_the_page_and_the_api_show_the_same_real_time_status(
    ms_app, world, connection_id, emulator
) -> None:
    ws = world.workspace_id
    sent, _ = h.add_conversion(ws)
    refused, _ = h.add_conversion(ws, occurred_at=utcnow() + timedelta(hours=2))
    too_old, _ = h.add_conversion(ws, occurred_at=utcnow() - timedelta(days=10))
    not_chosen, _ = h.add_conversion(ws, "signup")
    assert realtime.run(connection_id).sent == 1
    tracking.settings_for(ws).require_consent = True
    db.session.commit()
    held, _ = h.add_conversion(ws)
    db.session.get(Conversion, held).consent_state = "denied"
    db.session.commit()
    realtime.run(connection_id)
    pending, _ = h.add_conversion(ws)  # arrived after the last run: not planned yet

    expected = {
        sent: ("sent", "sent"),
        refused: ("failed", "refused"),
        too_old: ("skipped", "too_old"),
        not_chosen: ("skipped", "event_not_chosen"),
        held: ("held", "consent_missing"),
        pending: ("pending", "not_planned"),
    }
    member = client_as(ms_app, "member")
    _, secret = api_keys.create(ws, "read")
    api = ms_app.test_client()
    api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    listed = api.get("/api/v1/conversions", query_string={"limit": 50}).json["conversions"]
    by_id = {c["id"]: c["realtime"] for c in listed}
    for conversion_id, (state, reason) in expected.items():
        conversion = db.session.get(Conversion, conversion_id)
        shown, body = page_states(member, ws, conversion_id)
        served = api_states(api, conversion.external_id)
        assert shown == served, conversion_id
        assert [(s["connection_id"], s["state"], s["reason"]) for s in served] == [
            (connection_id, state, reason)
        ]
        assert served[0]["message"]  # words for every state
        # The list pages the same objects as the one-conversion read.
        full = api.get("/api/v1/conversions", query_string={"external_id": conversion.external_id})
        assert by_id[conversion_id] == full.json["conversion"]["realtime"]
        if state == "sent":
            assert served[0]["event_id"] == conversion.external_id and served[0]["attempts"] == 1
            assert 'data-kind="realtime" data-outcome="sent"' in body  # a step on the timeline
        if state == "failed":
            assert served[0]["error_code"] == "InvalidEventTime"
            assert 'data-kind="realtime" data-outcome="rejected"' in body
            assert "InvalidEventTime" in body
        if state == "skipped":
            assert served[0]["event_id"] is None and served[0]["attempts"] == 0
    too_old_words = api_states(api, db.session.get(Conversion, too_old).external_id)[0]
    assert "7 days" in too_old_words["message"]  # the platform's window, in its own words


def test_a_workspace_without_a_real_time_path_shows_none(ms_app, world) -> None:
    cid, _ = h.add_conversion(world.workspace_id)
    shown, body = page_states(client_as(ms_app, "member"), world.workspace_id, cid)
    assert shown == [] and 'data-kind="realtime"' not in body
    assert realtime_status.for_conversion(db.session.get(Conversion, cid)) == []


def test_a_path_switched_off_says_so_and_keeps_the_rows_it_sent(
    ms_app, world, connection_id, emulator
) -> None:
    ws = world.workspace_id
    sent, _ = h.add_conversion(ws)
    realtime.run(connection_id)
    later, _ = h.add_conversion(ws)
    assert h.enable_realtime(world, connection_id, enabled=False, token="") == {}  # switched off
    states = realtime_status.for_conversions(
        [db.session.get(Conversion, sent), db.session.get(Conversion, later)]
    )
    assert [(s.state, s.reason) for s in states[sent]] == [("sent", "sent")]
    assert [(s.state, s.reason) for s in states[later]] == [("skipped", "realtime_off")]
    assert db.session.scalar(select(RealtimeDelivery.status)) == "sent"


def test_a_page_of_conversions_costs_the_same_statements_whatever_its_size(
    ms_app, world, connection_id, emulator
) -> None:
    """The read API's list computes the page's real-time states at once: no query per row."""
    from sqlalchemy import event

    ids = [h.add_conversion(world.workspace_id)[0] for _ in range(6)]
    realtime.run(connection_id)  # some sent rows ...
    ids += [h.add_conversion(world.workspace_id)[0] for _ in range(2)]  # ... some not planned
    found: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        found.append(statement)

    def statements(conversion_ids: list[int]) -> int:
        conversions = [db.session.get(Conversion, cid) for cid in conversion_ids]
        found.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            states = realtime_status.for_conversions(conversions)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(states) == len(conversion_ids)
        return len(found)

    assert statements(ids[:1] + ids[-1:]) == statements(ids)
