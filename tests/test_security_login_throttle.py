"""Login throttling (issue 15, defect 5): others cannot lock the owner out; guessing is slowed
per (email, address) strictly and per email with growing delays; counts live in Redis."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, csrf_token, make_app, make_world
from webapp.services import login_throttle

USUAL = "203.0.113.7"


@pytest.fixture
def prod_like(_migrated: str, redis_url: str):
    """The production defaults: 10 sign-in posts per minute per address."""
    from tests.conftest import _empty_tables
    from webapp.extensions import db

    app = make_app(_migrated, redis_url, LOGIN_RATE_LIMIT="10 per minute")
    with app.app_context():
        make_world()
        yield app
        db.session.remove()
        _empty_tables()


def _client(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _attempt(client: FlaskClient, password: str, email: str = "owner@example.com"):
    return client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_token(client)}
    )


def test_hammering_from_other_addresses_does_not_lock_out_the_owner(prod_like) -> None:
    owner = _client(prod_like, USUAL)
    assert _attempt(owner, PASSWORD).status_code == 302  # the owner's usual address
    owner.post("/logout", data={"csrf_token": csrf_token(owner, "/")})

    attacker = _client(prod_like, "198.51.100.66")
    statuses = [_attempt(attacker, f"guess-{i}").status_code for i in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    for i in range(30):  # a botnet: one guess from each of many addresses (then delayed)
        spread = _attempt(_client(prod_like, f"192.0.2.{i + 1}"), f"spread-{i}").status_code
        assert spread in (401, 429)

    owner = _client(prod_like, USUAL)
    response = _attempt(owner, PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]


def test_a_new_address_waits_a_growing_delay_once_the_email_is_under_attack(prod_like) -> None:
    for i in range(login_throttle.LOOSE_FAILURES + 3):
        _attempt(_client(prod_like, f"192.0.2.{i + 1}"), f"spread-{i}")
    newcomer = _client(prod_like, "100.64.0.9")
    refused = _attempt(newcomer, PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many failed sign-ins" in refused.get_data(as_text=True)
    # Other emails are unaffected.
    assert _attempt(newcomer, PASSWORD, "member@example.com").status_code == 302


def test_one_address_is_stopped_for_one_email_only(prod_like) -> None:
    guesser = _client(prod_like, "198.51.100.66")
    for i in range(login_throttle.STRICT_FAILURES):
        assert _attempt(guesser, f"guess-{i}").status_code == 401
    blocked = _attempt(guesser, PASSWORD)  # even the right password: the address must wait
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 60
    assert _attempt(_client(prod_like, "198.51.100.67"), PASSWORD).status_code == 302


def test_the_delay_doubles_and_is_capped(prod_like) -> None:
    email, now = "victim@example.com", time.time()
    for i in range(login_throttle.LOOSE_FAILURES):
        login_throttle.record_failure(email, f"192.0.2.{i}", now=now)
    assert login_throttle.wait_seconds(email, "100.64.0.1", now=now) == 1
    for _ in range(3):
        login_throttle.record_failure(email, "192.0.2.250", now=now)
    assert login_throttle.wait_seconds(email, "100.64.0.1", now=now) == 8
    assert login_throttle.wait_seconds(email, "100.64.0.1", now=now + 8) == 0
    for _ in range(40):
        login_throttle.record_failure(email, "192.0.2.251", now=now)
    cap = int(login_throttle.MAX_DELAY.total_seconds())
    assert login_throttle.wait_seconds(email, "100.64.0.1", now=now) == cap


def test_counts_are_shared_through_redis_by_every_process(prod_like, redis_url) -> None:
    from jobs.queues import redis_connection

    _attempt(_client(prod_like, "198.51.100.66"), "guess")
    prefix = prod_like.config["RATELIMIT_KEY_PREFIX"]
    keys = redis_connection(redis_url).keys(f"{prefix}*")
    assert any(b":login:fail:" in key for key in keys)
    assert not any(b"owner@example.com" in key for key in keys)  # emails are hashed
    assert prod_like.config["RATELIMIT_STORAGE_URI"] == redis_url


def test_sign_in_says_503_when_redis_is_down(_migrated) -> None:
    from tests.conftest import _empty_tables
    from webapp.extensions import db

    app = make_app(_migrated, "redis://127.0.0.1:1/0")
    with app.app_context():
        try:
            make_world()
            client = app.test_client()
            response = _attempt(client, PASSWORD)
            assert response.status_code == 503
            assert "unavailable" in response.get_data(as_text=True)
        finally:
            db.session.remove()
            _empty_tables()
