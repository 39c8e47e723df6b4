"""Troubleshoot that scales and the read API (issue 12): keyset pages of 50, search by external
id, click id or email (hashed on the server), filters by state and reason, rows linking to the
conversion, the CSV export, and bad input answered with a 4xx and a message."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import client_as, make_world
from tests.helpers import push as h
from tests.intake.helpers import api_key
from webapp.extensions import db
from webapp.intake import identity
from webapp.models import Conversion, ConversionClickId
from webapp.models.types import utcnow
from webapp.push import send as push
from webapp.push import states


@pytest.fixture
def world(ms_app, redis):
    return make_world()


@pytest.fixture
def connection_id(ms_app, world, emulator) -> int:
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    return connection_id


def base(world, connection_id: int) -> str:
    return f"/w/{world.workspace_id}/setup/connections/{connection_id}/push/troubleshoot"


def conversions_on(html: str) -> list[int]:
    return [int(c) for c in re.findall(r'data-conversion="(\d+)"', html)]


def test_pages_of_fifty_newest_first_by_keyset(ms_app, world, connection_id) -> None:
    now = utcnow()
    ids = [
        h.add_conversion(world.workspace_id, with_click=False,
                         occurred_at=now - timedelta(minutes=i))[0]
        for i in range(120)
    ]  # fmt: skip
    member = client_as(ms_app, "member")
    seen, url, pages = [], base(world, connection_id), 0
    while url:
        html = member.get(url).get_data(as_text=True)
        rows = conversions_on(html)
        assert len(rows) == (50 if pages < 2 else 20)
        seen += rows
        pages += 1
        nxt = re.search(r'href="([^"]+)" data-testid="next-page"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else ""
        if pages > 1:
            assert 'data-testid="first-page"' in html
    assert pages == 3 and seen == ids  # newest first, each once
    # Each row links to its conversion's page, which opens.
    html = member.get(base(world, connection_id)).get_data(as_text=True)
    link = f'href="/w/{world.workspace_id}/conversions/{ids[0]}"'
    assert link in html
    assert member.get(f"/w/{world.workspace_id}/conversions/{ids[0]}").status_code == 200


def test_search_by_external_id_click_id_and_email_hashed_on_the_server(
    ms_app, world, connection_id
) -> None:
    ws = world.workspace_id
    by_external, _ = h.add_conversion(ws)
    by_click, click = h.add_conversion(ws)
    supplied, _ = h.add_conversion(ws, with_click=False, msclkid="supplied-click-1")
    email = "Alex.Doe@Example.com"
    digest = identity.hash_identity(email=email)[0].email
    by_email, _ = h.add_conversion(ws, with_click=False, email_sha256=digest)
    h.add_conversion(ws)  # never found
    external_id = db.session.get(Conversion, by_external).external_id
    assert db.session.get(ConversionClickId, (supplied, "msclkid")) is not None
    member = client_as(ms_app, "member")
    for query, expected in (
        (external_id, [by_external]),
        (click, [by_click]),
        ("supplied-click-1", [supplied]),
        (f"  {email.upper()} ", [by_email]),
        ("nobody@example.com", []),
    ):
        response = member.get(base(world, connection_id), query_string={"q": query})
        assert response.status_code == 200
        assert conversions_on(response.get_data(as_text=True)) == expected, query
    # The email itself is never stored: only its digest is compared.
    assert db.session.query(Conversion).filter(Conversion.email_sha256 == digest).count() == 1


def test_filters_by_state_and_reason_and_the_csv_streams_the_filtered_rows(
    ms_app, world, connection_id
) -> None:
    ws = world.workspace_id
    sent, _ = h.add_conversion(ws)
    no_click = [h.add_conversion(ws, with_click=False)[0] for _ in range(3)]
    waiting, _ = h.add_conversion(ws, clicked_at=utcnow() - timedelta(minutes=10))
    push.run(connection_id)
    member = client_as(ms_app, "member")
    html = member.get(base(world, connection_id), query_string={"reason": "no_click"}).get_data(
        as_text=True
    )
    assert sorted(conversions_on(html)) == sorted(no_click)
    html = member.get(base(world, connection_id), query_string={"state": "waiting"}).get_data(
        as_text=True
    )
    assert conversions_on(html) == [waiting] and "until " in html
    csv_response = member.get(
        base(world, connection_id) + ".csv", query_string={"state": "not_eligible"}
    )
    assert csv_response.status_code == 200 and csv_response.mimetype == "text/csv"
    assert csv_response.is_streamed
    lines = csv_response.get_data(as_text=True).strip().splitlines()
    assert lines[0].startswith("conversion_id,external_id,event")
    assert sorted(int(line.split(",")[0]) for line in lines[1:]) == sorted(no_click)
    assert sent not in [int(line.split(",")[0]) for line in lines[1:]]


@pytest.mark.parametrize(
    "query",
    [
        {"state": "bogus"},
        {"reason": "because"},
        {"cursor": "not-a-cursor"},
        {"cursor": "W10"},  # base64 of "[]"
        {"since": "2026-02-30"},
        {"since": "0001-01-01"},
        {"since": "2026-12-01", "until": "2026-11-01"},
        {"q": "x" * 300},
    ],
)
def test_bad_filters_get_a_form_error_not_a_500(ms_app, world, connection_id, query) -> None:
    member = client_as(ms_app, "member")
    response = member.get(base(world, connection_id), query_string=query)
    assert response.status_code == 400
    assert 'data-testid="filter-error"' in response.get_data(as_text=True)
    if "cursor" not in query:  # the export has no pages: it ignores a cursor
        exported = member.get(base(world, connection_id) + ".csv", query_string=query)
        assert exported.status_code == 400 and exported.get_data(as_text=True)


def test_troubleshoot_fix_respects_auto_tagging(ms_app, world, connection_id) -> None:
    """An organic visitor's fix never says "turn auto-tagging on" when it is on."""
    from webapp.models import Connection

    h.add_conversion(world.workspace_id, with_click=False)
    push.run(connection_id)
    connection = db.session.get(Connection, connection_id)
    for value, phrase in ((True, "Auto-tagging is on"), (False, "Turn auto-tagging on")):
        connection.auto_tagging = value
        db.session.commit()
        [row] = states.page(connection, states.Filters()).rows
        assert row.reason == "no_click" and row.fix.startswith(phrase), row.fix


def test_read_api_lists_connections_and_pages_conversions(ms_app, world, connection_id) -> None:
    ws = world.workspace_id
    for _ in range(5):
        h.add_conversion(ws)
    h.add_conversion(ws, with_click=False)
    push.run(connection_id)
    api = ms_app.test_client()
    assert api.get("/api/v1/connections").status_code == 401
    auth = {"Authorization": f"Bearer {api_key(ws)}"}
    [conn] = api.get("/api/v1/connections", headers=auth).get_json()["connections"]
    assert conn["id"] == connection_id and conn["platform"] == "microsoft_ads"
    assert conn["account"]["id"] == h.US_ACCOUNT
    assert conn["counts"]["sent"] == 5 and conn["counts"]["not_eligible"] == 1
    assert {"state", "label", "failing"} <= set(conn["health"])
    # Another workspace's key sees none of it.
    other = {"Authorization": f"Bearer {api_key(world.other_workspace_id)}"}
    assert api.get("/api/v1/connections", headers=other).get_json()["connections"] == []

    first = api.get("/api/v1/conversions?limit=4", headers=auth).get_json()
    assert len(first["conversions"]) == 4 and first["next_cursor"]
    rest = api.get(
        f"/api/v1/conversions?limit=4&cursor={first['next_cursor']}", headers=auth
    ).get_json()
    assert len(rest["conversions"]) == 2 and rest["next_cursor"] is None
    ids = [c["id"] for c in first["conversions"] + rest["conversions"]]
    assert len(set(ids)) == 6
    [delivery] = first["conversions"][0]["delivery"]
    assert {"state", "reason", "reason_text", "last_attempt_at", "platform_answer"} <= set(delivery)
    not_eligible = api.get(
        f"/api/v1/conversions?connection={connection_id}&reason=no_click", headers=auth
    ).get_json()["conversions"]
    assert [c["delivery"][0]["state"] for c in not_eligible] == ["not_eligible"]
    assert "No Microsoft click id" in not_eligible[0]["delivery"][0]["reason_text"]
    # The lookup by external_id is unchanged.
    one = api.get(f"/api/v1/conversions?external_id={first['conversions'][0]['external_id']}",
                  headers=auth)  # fmt: skip
    assert one.status_code == 200 and one.get_json()["conversion"]["delivery"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=201",
        "limit=abc",
        "limit=-1",
        "connection=abc",
        "connection=999999",
        "connection=99999999999999999999999",
        "state=lost",
        "reason=nope",
        "since=yesterday",
        "since=2026-13-01",
        "cursor=%25%25%25",
        "cursor=" + "A" * 300,
        "colour=blue",
    ],
)
def test_read_api_bad_parameters_get_400_with_a_message(
    ms_app, world, connection_id, query
) -> None:
    api = ms_app.test_client()
    auth = {"Authorization": f"Bearer {api_key(world.workspace_id)}"}
    response = api.get(f"/api/v1/conversions?{query}", headers=auth)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"]["errors"][0]["message"]


def test_another_workspaces_connection_is_refused(ms_app, world, connection_id) -> None:
    api = ms_app.test_client()
    auth = {"Authorization": f"Bearer {api_key(world.other_workspace_id)}"}
    response = api.get(f"/api/v1/conversions?connection={connection_id}", headers=auth)
    assert response.status_code == 400
