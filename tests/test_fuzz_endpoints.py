"""Every route answers nonsense with a 4xx, never a 500 (issue 15).

Routes are enumerated from ``app.url_map`` at collection time, so a new endpoint is fuzzed without
touching this file. For each route and method Hypothesis draws the path arguments (real ids, huge
or zero integers, hostile strings), query parameters and a body (a form, or JSON with lone
surrogates, huge integers, extreme dates, deep nesting), sends it anonymously or as the
workspace's Owner (CSRF off, so forms reach their handler; the API and Stripe webhook get valid
credentials, so bodies reach their parsers) and asserts the status is below 500.

Run time is bounded by a settings profile: ``SOURCELOOP_FUZZ_PROFILE=ci`` (the default, a few
examples per route) or ``thorough`` (hundreds; run it before a release).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask, request_started
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import load_settings
from tests.conftest import PASSWORD, _empty_tables, _fresh_g_per_request, make_app, make_world
from tests.fake_platform import FakePlatform

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("SOURCELOOP_FUZZ_EXAMPLES", "15")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROFILE = settings.get_profile(os.environ.get("SOURCELOOP_FUZZ_PROFILE", "ci"))
STRIPE_SECRET = "whsec_fuzz_0123456789abcdef"


def _routes() -> list[tuple[str, str, str]]:
    """(rule, method, endpoint) of every route, from an app that connects to nothing."""
    from webapp.factory import create_app

    app = create_app(
        load_settings(
            {"SOURCELOOP_ENV": "testing", "DATABASE_URL": "sqlite://", "SECRET_KEY": "x"}
        ),
        extra_platforms=[FakePlatform],
    )
    return sorted(
        (rule.rule, method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    )


ROUTES = _routes()

# --- hostile values ----------------------------------------------------------------------------

NASTY_TEXT = [
    "",
    "x\ud800y",
    "\udfff",
    "a\r\nSet-Cookie: evil=1",
    "/\r\n/evil.example",
    "9999-12-31",
    "0001-01-01",
    "10000-01-01",
    "2026-02-30",
    "999999999999999999999999",
    "-999999999999999999999999",
    str(2**63),
    "-1",
    "0",
    "1e309",
    "NaN",
    "Infinity",
    "0x10",
    "\x00",
    "%00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "x" * 5000,
    "\u202e\ufeff",
    "😀" * 10,
    "//evil.example",
    "https://evil.example/",
    "on",
    "owner",
    "member",
    "USD",
    "purchase",
]
nasty_text = st.sampled_from(NASTY_TEXT) | st.text(max_size=30)
nasty_int = st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**20, 10**30])

QUERY_NAMES = [
    "page", "since", "until", "from", "to", "start", "end", "run", "next", "state", "code",
    "error", "error_description", "event", "q", "source", "model", "metric", "currency",
    "external_id", "grant", "k", "level", "connection", "parent_level", "parent_id", "id",
]  # fmt: skip


def _form_names() -> list[str]:
    from wtforms import Form

    from webapp import forms

    names = {
        "account_id", "clear", "default_currency", "domains", "enabled", "enhanced_conversions",
        "forms", "label", "name", "next", "reconnect", "secret", "goal__purchase",
        "mode__purchase", "fixed__purchase", "goal__form_submitted", "lookback_days",
        "half_life_days", "external_model",
    }  # fmt: skip
    for value in vars(forms).values():
        if isinstance(value, type) and issubclass(value, Form):
            names.update(n for n in dir(value) if not n.startswith("_") and n.islower())
    return sorted(n for n in names if n not in {"meta", "data", "errors", "populate_obj"})


FORM_NAMES = _form_names()


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


json_leaf = (
    st.none()
    | st.booleans()
    | nasty_int
    | st.integers()
    | st.sampled_from([1e308, -0.0, 0.1])
    | nasty_text
)
json_value = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(nasty_text | st.sampled_from(["event", "external_id", "value"]), children)
    ),
    max_leaves=8,
)


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["object", "conversion", "batch", "stripe", "deep", "raw"]))
    if kind == "deep":
        return f'{{"type": "x", "data": {_deep(draw(st.sampled_from([1000, 100_000])))}}}'.encode()
    if kind == "raw":
        return draw(st.sampled_from([b"", b"{", b"\xff\xfe", b"[1, 2", b"null", b'"x\\ud800"']))
    row = {
        "event": draw(st.sampled_from(["purchase", "form_submitted"]) | nasty_text),
        "external_id": draw(nasty_text),
        "occurred_at": draw(nasty_text | nasty_int),
        "value": draw(json_leaf),
        "currency": draw(nasty_text),
        "email": draw(nasty_text),
        "msclkid": draw(nasty_text),
    }
    if kind == "conversion":
        body: object = row
    elif kind == "batch":
        body = {"conversions": [row, draw(json_value)]}
    elif kind == "stripe":
        body = {
            "type": draw(
                st.sampled_from(
                    ["checkout.session.completed", "payment_intent.succeeded", "charge.refunded"]
                )
            ),
            "data": {
                "object": {
                    "id": draw(nasty_text),
                    "payment_intent": draw(nasty_text),
                    "payment_status": "paid",
                    "amount_total": draw(nasty_int),
                    "amount_received": draw(nasty_int),
                    "amount": draw(nasty_int),
                    "amount_refunded": draw(nasty_int),
                    "currency": draw(st.sampled_from(["eur", "usd", "jpy"]) | nasty_text),
                    "created": draw(nasty_int | nasty_text),
                    "client_reference_id": draw(nasty_text),
                    "metadata": draw(json_value),
                    "customer_details": {"email": draw(nasty_text), "phone": draw(nasty_text)},
                }
            },
        }
    else:
        body = draw(json_value)
    return json.dumps(body).encode()  # ensure_ascii: lone surrogates travel as \ud800 escapes


def _encode(pairs: list[tuple[str, str]]) -> str:
    """Percent-encode as a browser would, lone surrogates included (as their UTF-8 bytes)."""
    return "&".join(
        quote(k.encode("utf-8", "surrogatepass"), safe="")
        + "="
        + quote(v.encode("utf-8", "surrogatepass"), safe="")
        for k, v in pairs
    )


# --- the app under fuzz ------------------------------------------------------------------------


@pytest.fixture
def fuzz_app(_migrated: str, redis_url: str) -> Iterator[Flask]:
    from webapp.extensions import db

    app = make_app(_migrated, redis_url, WTF_CSRF_ENABLED=False, LOGIN_RATE_LIMIT="100000/minute")
    request_started.connect(_fresh_g_per_request, app, weak=False)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()


@pytest.fixture
def known(fuzz_app: Flask) -> dict[str, object]:
    """Real ids for path arguments, so fuzzed requests reach the code behind the lookups."""
    from datetime import UTC, datetime

    from webapp.extensions import db
    from webapp.models import Connection, Conversion, ConversionEvent, Membership
    from webapp.services import api_keys, members, tracking
    from webapp.services.job_runs import create_queued

    world = make_world()
    owner = db.session.get(Membership, world.memberships["owner"])
    tracking.set_stripe_secret(world.workspace_id, owner, STRIPE_SECRET)
    pixel = tracking.settings_for(world.workspace_id).public_key
    connection = Connection(
        workspace_id=world.workspace_id, platform_key="fake", account_id="9", account_name="Shop"
    )
    event = ConversionEvent(workspace_id=world.workspace_id, name="demo_booked", label="Demo")
    conversion = Conversion(
        workspace_id=world.workspace_id,
        event="purchase",
        occurred_at=datetime.now(UTC),
        source="api",
        external_id="fuzz-1",
    )
    db.session.add_all([connection, event, conversion])
    db.session.commit()
    invite, token = members.create_invite(world.workspace_id, owner, "inv@example.com", "member")
    key_row, api_key = api_keys.create(world.workspace_id, "Fuzz")
    return {
        "ids": {
            "ws_id": [world.workspace_id, world.other_workspace_id],
            "connection_id": [connection.id],
            "conversion_id": [conversion.id],
            "run_id": [create_queued("fuzz", rq_job_id=None, workspace_id=world.workspace_id)],
            "key_id": [key_row.id],
            "membership_id": list(world.memberships.values()),
            "invite_id": [invite.id],
            "event_id": [event.id],
        },
        "strings": {"token": [token], "key": ["fake", pixel]},
        "api_key": api_key,
    }


def _path(rule: str, draw: st.DrawFn, known: dict) -> str:
    def fill(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        if converter == "int":
            value = draw(st.sampled_from(known["ids"].get(name, [1])) | nasty_int)
            return str(value)
        text = draw(st.sampled_from(known["strings"].get(name, ["x"])) | nasty_text)
        return quote(text.encode("utf-8", "surrogatepass"), safe="") or "x"

    return re.sub(r"<(?:(\w+):)?(\w+)>", fill, rule)


@pytest.mark.parametrize(
    ("rule", "method", "endpoint"), ROUTES, ids=[f"{m} {r}" for r, m, _ in ROUTES]
)
def test_no_input_makes_a_500(
    fuzz_app: Flask, known: dict, rule: str, method: str, endpoint: str
) -> None:
    from webapp.services.stripe_webhooks import sign

    @PROFILE
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        draw = data.draw
        path = _path(rule, draw, known)
        query = draw(
            st.lists(st.tuples(st.sampled_from(QUERY_NAMES) | nasty_text, nasty_text), max_size=4)
        )
        headers: dict[str, str] = {"User-Agent": "Mozilla/5.0 (fuzz) Chrome/124.0"}
        body: bytes | None = None
        if method == "POST":
            if draw(st.booleans()):
                fields = draw(
                    st.lists(st.tuples(st.sampled_from(FORM_NAMES), nasty_text), max_size=6)
                )
                body = _encode(fields).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                body = draw(json_bodies())
                headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain"]))
        if path.startswith("/api/") and draw(st.integers(0, 4)):
            headers["Authorization"] = f"Bearer {known['api_key']}"
        if endpoint == "webhooks.stripe" and body is not None and draw(st.integers(0, 4)):
            headers["Stripe-Signature"] = sign(body, STRIPE_SECRET)
        client = fuzz_app.test_client()
        if draw(st.integers(0, 3)):  # mostly as the Owner: the deepest code paths
            signed_in = client.post(
                "/login", data={"email": "owner@example.com", "password": PASSWORD}
            )
            assert signed_in.status_code == 302
        url = path + ("?" + _encode(query) if query else "")
        response = client.open(url, method=method, data=body, headers=headers)
        assert response.status_code < 500, (
            f"{method} {url[:300]} → {response.status_code}: {response.get_data(as_text=True)[:300]}"
        )

    run()
