"""Shared fixtures: a real Redis, the app on a migrated database, clients signed in by role.

The database is SQLite by default; set TEST_DATABASE_URL (scripts/test --postgres does) to run the
same tests on PostgreSQL. The schema is built once per session by the Alembic migrations (so the
migrations are what every test runs on) and emptied after each test.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask, request_started
from flask.testing import FlaskClient
from sqlalchemy import text

from config import load_settings
from tests.fake_platform import FakePlatform
from tests.helpers.processes import emulator_process, reset_emulator, start_redis, stop

PASSWORD = "Corr3ct-horse-battery"


@functools.cache
def password_hash() -> str:
    """Hashed once per session: scrypt is slow on purpose, and fixtures make many users."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, port = start_redis(tmp_path_factory.mktemp("redis"))
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def test_environ(database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment a test app (or a real worker process) runs with."""
    return {
        "SOURCELOOP_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key",
        "LOGIN_RATE_LIMIT": "1000 per minute",
        **extra,
    }


test_environ.__test__ = False  # a helper, not a test, wherever it is imported


def make_app(database_url: str, redis_url: str, **overrides: object) -> Flask:
    from webapp.cli.db import bind_migrate
    from webapp.factory import create_app

    settings = load_settings(test_environ(database_url, redis_url))
    overrides = {"RATELIMIT_KEY_PREFIX": _limit_prefix(), **overrides}
    app = create_app(settings, overrides=overrides, extra_platforms=[FakePlatform])
    bind_migrate(app)  # tests call Flask-Migrate's upgrade()/downgrade() on it (flask db does this)
    request_started.connect(_fresh_g_per_request, app, weak=False)
    _reset_limits()
    return app


def _limit_prefix() -> str:
    """Rate limits live in the shared test Redis: each app counts under its own prefix (the
    login throttle reads it per app; Flask-Limiter keeps its first one, so it is reset instead:
    see ``_reset_limits``)."""
    return f"test-{uuid.uuid4().hex[:12]}"


def _reset_limits() -> None:
    from redis.exceptions import RedisError

    from webapp.web_extensions import limiter

    with contextlib.suppress(RedisError):  # an app pointed at a Redis that is down on purpose
        limiter.reset()


def _fresh_g_per_request(sender: Flask, **extra: object) -> None:
    """Tests keep one app context open across requests, so Flask reuses its ``g``; a real server
    gets a fresh ``g`` per request (Flask-Login and Flask-WTF cache in it)."""
    from flask import g

    for name in list(g):
        g.pop(name)


@pytest.fixture(scope="session")
def _migrated(database_url: str, redis_url: str) -> str:
    from flask_migrate import upgrade

    from webapp.cli.db import bind_migrate
    from webapp.extensions import db

    app = make_app(database_url, redis_url)
    bind_migrate(app)
    with app.app_context():
        if database_url.startswith("postgresql"):
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
    return database_url


@pytest.fixture
def app(_migrated: str, redis_url: str) -> Iterator[Flask]:
    from webapp.extensions import db

    app = make_app(_migrated, redis_url)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()


def _empty_tables() -> None:
    from webapp.extensions import db

    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def redis(redis_url: str):
    from jobs.queues import redis_connection

    conn = redis_connection(redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """Read a CSRF token from a rendered form, as a browser would."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no csrf_token in {path}"
    return match.group(1) or match.group(2)


@dataclass
class World:
    """Two workspaces and one person per role (plus an admin of the other workspace)."""

    workspace_id: int
    other_workspace_id: int
    users: dict[str, int]  # role name → user id
    memberships: dict[str, int]  # role name → membership id in the main workspace


@pytest.fixture
def world(app: Flask) -> World:
    return make_world()


def make_world() -> World:
    from webapp.extensions import db
    from webapp.models import Membership, User, Workspace

    acme, other = Workspace(name="Acme"), Workspace(name="Globex")
    db.session.add_all([acme, other])
    db.session.flush()
    users, memberships = {}, {}
    for role, workspace in [
        ("owner", acme),
        ("admin", acme),
        ("member", acme),
        ("other_admin", other),
    ]:
        user = User(email=f"{role}@example.com", name=role.replace("_", " ").title())
        user.password_hash = password_hash()
        db.session.add(user)
        db.session.flush()
        membership = Membership(
            workspace_id=workspace.id,
            user_id=user.id,
            role="admin" if role == "other_admin" else role,
        )
        db.session.add(membership)
        db.session.flush()
        users[role] = user.id
        if workspace is acme:
            memberships[role] = membership.id
    db.session.commit()
    return World(acme.id, other.id, users, memberships)


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.fixture
def login_as(app: Flask, world: World) -> Callable[[str | None], FlaskClient]:
    """``login_as("admin")`` → a new client signed in as that role (None: anonymous)."""

    return lambda role: client_as(app, role)


def client_as(app: Flask, role: str | None) -> FlaskClient:
    client = app.test_client()
    if role is not None:
        login(client, f"{role}@example.com")
    return client


@pytest.fixture
def burst_worker(redis):
    """Run every queued job in this process (in the test's app context) until queues are empty."""
    from flask import current_app
    from rq import SimpleWorker

    from jobs.queues import ALL_QUEUES, get_queue

    def run() -> None:
        queues = [get_queue(name, current_app.config["REDIS_URL"]) for name in ALL_QUEUES]
        SimpleWorker(queues, connection=redis).work(burst=True)

    return run


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[1]


# --- Microsoft Ads emulator, as a real process -------------------------------------------------

EMULATOR_CLIENT_ID = "sourceloop-dev-client"
EMULATOR_CLIENT_SECRET = "sourceloop-dev-secret"
EMULATOR_DEVELOPER_TOKEN = "BBD37VB98"


@pytest.fixture(scope="session")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with emulator_process(
        "platforms.microsoft_ads.emulator",
        # Host tests read diagnostics right after uploading: no attribution delay here (its
        # default, hours as at Microsoft, is tested on the emulator itself).
        {"EMULATOR_ACCESS_TOKEN_TTL": "3600", "EMULATOR_ATTRIBUTION_DELAY_MINUTES": "0"},
        tmp_path_factory.mktemp("emulator") / "emulator.log",
        "the Microsoft Ads emulator",
        "--quiet",
    ) as url:
        yield url


@pytest.fixture
def emulator(emulator_url: str) -> str:
    """The running emulator, reset to its seeded world for this test."""
    return reset_emulator(emulator_url)


def msads_environ(emulator_url: str) -> dict[str, str]:
    return {
        "MSADS_ENVIRONMENT": "emulator",
        "MSADS_EMULATOR_URL": emulator_url,
        "MSADS_CLIENT_ID": EMULATOR_CLIENT_ID,
        "MSADS_CLIENT_SECRET": EMULATOR_CLIENT_SECRET,
        "MSADS_DEVELOPER_TOKEN": EMULATOR_DEVELOPER_TOKEN,
        # Host tests place clicks an hour or two back; the plugin's default wait is five hours.
        "MSADS_CLICK_WAIT_MINUTES": "60",
    }


@contextlib.contextmanager
def platform_app(
    database_url: str,
    redis_url: str,
    environ: dict[str, str],
    public_url: str = "http://127.0.0.1:5000",
) -> Iterator[Flask]:
    """An app wired to a running emulator through ``environ`` (plus the fake platform), inside
    its app context; the tables are emptied after it."""
    from webapp.extensions import db
    from webapp.factory import create_app

    settings = load_settings(
        test_environ(database_url, redis_url, **environ, PUBLIC_URL=public_url)
    )
    app = create_app(
        settings,
        overrides={"RATELIMIT_KEY_PREFIX": _limit_prefix()},
        extra_platforms=[FakePlatform],
    )
    request_started.connect(_fresh_g_per_request, app, weak=False)
    _reset_limits()
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()


@pytest.fixture
def ms_app(_migrated: str, redis_url: str, emulator: str) -> Iterator[Flask]:
    """The app wired to the running emulator (plus the fake platform), with a clean database."""
    with platform_app(_migrated, redis_url, msads_environ(emulator)) as app:
        yield app


# --- Google emulator (OAuth, Google Ads API, Data Manager API), as a real process -------------

GOOGLE_CLIENT_ID = "sourceloop-dev.apps.googleusercontent.com"
GOOGLE_CLIENT_SECRET = "GOCSPX-sourceloop-dev-secret"


@pytest.fixture(scope="session")
def google_emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with emulator_process(
        "platforms.google_ads.emulator",
        # Host tests read processing results right after uploading and place clicks an hour or
        # two back: no processing delay and no minimum click age here (their defaults are tested
        # on the emulator itself).
        {
            "GOOGLE_EMULATOR_PROCESSING_DELAY_SECONDS": "0",
            "GOOGLE_EMULATOR_CLICK_MIN_AGE_MINUTES": "0",
        },
        tmp_path_factory.mktemp("google-emulator") / "emulator.log",
        "the Google emulator",
    ) as url:
        yield url


@pytest.fixture
def google_emulator(google_emulator_url: str) -> str:
    """The running Google emulator, reset to its seeded world for this test."""
    return reset_emulator(google_emulator_url)


def google_environ(emulator_url: str) -> dict[str, str]:
    return {
        "GOOGLE_ADS_ENVIRONMENT": "emulator",
        "GOOGLE_ADS_EMULATOR_URL": emulator_url,
        "GOOGLE_ADS_CLIENT_ID": GOOGLE_CLIENT_ID,
        "GOOGLE_ADS_CLIENT_SECRET": GOOGLE_CLIENT_SECRET,
        # Host tests place clicks an hour or two back; the plugin's default wait is six hours.
        "GOOGLE_ADS_CLICK_WAIT_MINUTES": "60",
    }


@pytest.fixture
def gads_app(_migrated: str, redis_url: str, google_emulator: str) -> Iterator[Flask]:
    """The app wired to the running Google emulator (plus the fake platform), clean database."""
    with platform_app(_migrated, redis_url, google_environ(google_emulator)) as app:
        yield app
