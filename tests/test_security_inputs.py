"""Bounded bodies and nonsense input (issue 15, defects 1 and 6): each answers 4xx, never 500."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from tests.conftest import PASSWORD, csrf_token
from tests.intake.helpers import api_key, bearer, hit, pageview, pixel_key
from webapp.extensions import db
from webapp.models import Conversion
from webapp.services.stripe_webhooks import sign

SECRET = "whsec_test_security_0123456789"


class CountingStream:
    """A request body of ``total`` bytes that counts how much the app read (a chunked upload:
    no Content-Length, the server terminates the stream)."""

    def __init__(self, total: int) -> None:
        self.total, self.read_bytes = total, 0

    def read(self, size: int = -1) -> bytes:
        left = self.total - self.read_bytes
        size = left if size is None or size < 0 else min(size, left)
        self.read_bytes += size
        return b"x" * size

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 65536)


@pytest.fixture
def hook(world) -> str:
    from webapp.models import Membership
    from webapp.services import tracking

    owner = db.session.get(Membership, world.memberships["owner"])
    tracking.set_stripe_secret(world.workspace_id, owner, SECRET)
    return f"/webhooks/stripe/{tracking.settings_for(world.workspace_id).public_key}"


def _chunked(client, path: str, stream: CountingStream, **headers: str):
    # Transfer-Encoding: chunked makes Werkzeug ignore any Content-Length, as a real server does.
    return client.post(
        path,
        headers={"Transfer-Encoding": "chunked", **headers},
        environ_overrides={"wsgi.input": stream, "wsgi.input_terminated": True},
    )


def test_a_huge_chunked_webhook_body_is_refused_without_reading_it(client, hook) -> None:
    stream = CountingStream(64 * 1024 * 1024)
    response = _chunked(client, hook, stream, **{"Stripe-Signature": "t=1,v1=junk"})
    assert response.status_code == 413
    assert stream.read_bytes <= 1024 * 1024, f"read {stream.read_bytes} bytes of a refused body"


@pytest.mark.parametrize("path", ["/login", "/logout", "/api/v1/conversions"])
def test_every_endpoint_stops_reading_at_the_global_limit(client, world, path: str) -> None:
    from config import MAX_CONTENT_LENGTH

    stream = CountingStream(64 * 1024 * 1024)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if path.startswith("/api/"):
        headers = bearer(api_key(world.workspace_id))
    response = _chunked(client, path, stream, **headers)
    assert response.status_code in (400, 401, 413)
    assert stream.read_bytes <= MAX_CONTENT_LENGTH + 1


def test_the_limit_is_global(app) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 4 * 1024 * 1024


def test_api_external_id_with_a_lone_surrogate_is_400(client, world) -> None:
    body = json.dumps({"event": "purchase", "external_id": "x\ud800y"}).encode()
    assert b"\\ud800" in body
    response = client.post(
        "/api/v1/conversions", data=body, headers=bearer(api_key(world.workspace_id))
    )
    assert response.status_code == 400, response.data[:300]
    assert (
        "surrogate" in response.get_data(as_text=True)
        or "JSON" in response.json["error"]["errors"][0]["message"]
    )
    assert db.session.scalar(select(func.count()).select_from(Conversion)) == 0


def test_a_pixel_hit_with_a_lone_surrogate_is_refused_not_dropped_silently(client, world) -> None:
    from webapp.services import tracking

    key = pixel_key(world.workspace_id, ["shop.example"])
    response = hit(client, key, pageview("https://shop.example/?utm_source=x\ud800y"))
    assert response.status_code == 400
    assert tracking.settings_for(world.workspace_id).rejected_malformed >= 1


@pytest.mark.parametrize(
    "query",
    [
        "page=999999999999999999999",
        "page=-99999999999999999999999",
        "until=9999-12-31",
        "since=0001-01-01&until=9999-12-31",
    ],
)
def test_conversion_list_with_absurd_parameters(login_as, world, query: str) -> None:
    response = login_as("member").get(f"/w/{world.workspace_id}/conversions/?{query}")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/w/{ws}/insights/?from=9999-12-30&to=9999-12-31",
        "/w/{ws}/insights/?to=0001-01-01",
        "/w/{ws}/attribution/?start=9999-12-30&end=9999-12-31",
        "/w/{ws}/attribution/?end=0001-01-01",
        "/w/{ws}/conversions/99999999999999999999999",
        "/w/99999999999999999999999/",
    ],
)
def test_reports_with_extreme_dates_or_ids_are_4xx(login_as, world, path: str) -> None:
    response = login_as("owner").get(path.format(ws=world.workspace_id))
    assert 200 <= response.status_code < 500, response.get_data(as_text=True)[:300]


def test_troubleshoot_with_a_huge_run_id(login_as, world) -> None:
    from webapp.models import Connection

    connection = Connection(
        workspace_id=world.workspace_id, platform_key="fake", account_id="9", account_name="Shop"
    )
    db.session.add(connection)
    db.session.commit()
    path = (
        f"/w/{world.workspace_id}/setup/connections/{connection.id}/push/troubleshoot"
        "?run=99999999999999999999999"
    )
    assert login_as("owner").get(path).status_code == 200


def test_login_next_with_crlf_redirects_home(client, world) -> None:
    response = client.post(
        "/login?next=/w/1/%0D%0ASet-Cookie:%20evil=1",
        data={"email": "owner@example.com", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 302
    assert "\r" not in response.headers["Location"] and "evil" not in response.headers["Location"]


def _signed(client, hook: str, body: bytes):
    return client.post(
        hook,
        data=body,
        headers={"Stripe-Signature": sign(body, SECRET)},
        content_type="application/json",
    )


def test_a_signed_stripe_event_nested_100000_deep_is_400(client, hook) -> None:
    depth = 100_000
    body = b'{"type": "payment_intent.succeeded", "data": ' + b"[" * depth + b"]" * depth + b"}"
    assert _signed(client, hook, body).status_code == 400


def test_a_signed_stripe_event_created_in_the_far_future_is_stored_now(client, hook) -> None:
    event = {
        "type": "payment_intent.succeeded",
        "data": {
            "object": {
                "id": "pi_far",
                "amount_received": 500,
                "currency": "eur",
                "created": 10**20,
            }
        },
    }
    response = _signed(client, hook, json.dumps(event).encode())
    assert response.status_code == 200 and response.json["outcome"] == "created"
    conversion = db.session.scalar(select(Conversion))
    assert abs(conversion.occurred_at.timestamp() - time.time()) < 3600


def test_nul_characters_are_refused_everywhere(login_as, world, client) -> None:
    """PostgreSQL text refuses NUL: a 500 there, silently stored on SQLite. Both now say 400."""
    member = login_as("member")
    assert member.get(f"/w/{world.workspace_id}/conversions/?q=a%00b").status_code == 400
    owner = login_as("owner")
    renamed = owner.post(
        f"/w/{world.workspace_id}/setup/workspace/rename",
        data={
            "name": "Acme\x00",
            "csrf_token": csrf_token(owner, f"/w/{world.workspace_id}/setup/workspace/"),
        },
    )
    assert renamed.status_code == 400
    body = json.dumps({"event": "purchase", "external_id": "a\u0000b"}).encode()
    response = client.post(
        "/api/v1/conversions", data=body, headers=bearer(api_key(world.workspace_id))
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Conversion)) == 0
