"""Fixtures for the Google Ads plugin's cassette tests: betamax, one cassette per test.

Replay is the default (``record_mode="none"``: a request missing from the cassette fails the
test). ``GOOGLE_ADS_CASSETTE_RECORD=1`` re-records against the emulator
(``GOOGLE_ADS_EMULATOR_URL``) or, with ``GOOGLE_ADS_ENVIRONMENT=production`` and real
credentials (``GOOGLE_ADS_TEST_REFRESH_TOKEN``...), against Google; see the plugin README. The
access token and client secret become placeholders before a cassette is written, token bodies
are scrubbed, and matching uses method + path + query + body so the host does not matter on
replay.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import betamax
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from betamax.cassette import Cassette
from betamax.configure import Configuration

from platforms.base import AccountRef
from platforms.google_ads.plugin import GoogleAdsPlatform
from tests.helpers import cassettes

CASSETTES = Path(__file__).parent / "cassettes"
RECORDING = os.environ.get("GOOGLE_ADS_CASSETTE_RECORD", "").strip().lower() in ("1", "true")
FAKE = {"<ACCESS_TOKEN>": "replayed-access-token", "<CLIENT_SECRET>": "replayed-client-secret"}
REPLAY_EMULATOR_URL = "http://google-emulator.invalid"


@dataclass(frozen=True)
class Target:
    settings: dict[str, str]
    account: AccountRef  # directly accessible, enhanced conversions on
    managed_account: AccountRef  # reachable only through a manager
    goal_name: str
    young_goal_name: str  # a conversion action created minutes ago
    user: str


def _target() -> Target:
    env = os.environ
    environment = env.get("GOOGLE_ADS_ENVIRONMENT", "emulator") if RECORDING else "emulator"
    settings = {
        "GOOGLE_ADS_ENVIRONMENT": environment,
        "GOOGLE_ADS_EMULATOR_URL": env.get("GOOGLE_ADS_EMULATOR_URL", "http://127.0.0.1:5056")
        if RECORDING
        else REPLAY_EMULATOR_URL,
        "GOOGLE_ADS_CLIENT_ID": env.get(
            "GOOGLE_ADS_CLIENT_ID", "sourceloop-dev.apps.googleusercontent.com"
        ),
        "GOOGLE_ADS_CLIENT_SECRET": env.get(
            "GOOGLE_ADS_CLIENT_SECRET", "GOCSPX-sourceloop-dev-secret"
        )
        if RECORDING
        else FAKE["<CLIENT_SECRET>"],
    }
    return Target(
        settings=settings,
        account=AccountRef(env.get("GOOGLE_ADS_TEST_ACCOUNT_ID", "1234567890")),
        managed_account=AccountRef(
            env.get("GOOGLE_ADS_TEST_MANAGED_ACCOUNT_ID", "2345678901"),
            env.get("GOOGLE_ADS_TEST_MANAGER_ID", "1112223333"),
        ),
        goal_name=env.get("GOOGLE_ADS_TEST_GOAL_NAME", "Closed won (offline)"),
        young_goal_name=env.get("GOOGLE_ADS_TEST_YOUNG_GOAL_NAME", "Demo booked"),
        user=env.get("GOOGLE_ADS_TEST_USER", "alex@fabrikam-agency.example"),
    )


TARGET = _target()
ON_EMULATOR = TARGET.settings["GOOGLE_ADS_ENVIRONMENT"] == "emulator"


def _access_token(platform: GoogleAdsPlatform) -> str:
    """A real access token when recording; never written anywhere but the scrubbed cassette."""
    if not RECORDING:
        return FAKE["<ACCESS_TOKEN>"]
    spec = platform.oauth_spec()
    form = {"client_id": spec.client_id, "client_secret": spec.client_secret}
    if os.environ.get("GOOGLE_ADS_TEST_REFRESH_TOKEN"):
        form |= {
            "grant_type": "refresh_token",
            "refresh_token": os.environ["GOOGLE_ADS_TEST_REFRESH_TOKEN"],
        }
    else:  # the emulator grants consent without a browser
        form |= cassettes.emulator_code_grant(
            TARGET.settings["GOOGLE_ADS_EMULATOR_URL"], TARGET.user
        )
    return cassettes.fetch_access_token(spec.token_url, form)


def _scrub(interaction: Any, current_cassette: Cassette) -> None:
    """Before a recording is written: no bearer token, token bodies or cookies."""
    cassettes.scrub(interaction)


# Betamax keeps its configuration on classes, shared with the Microsoft tests: the scrubbing hook
# is added once, and the library directory and options are set per test and put back after it.
with betamax.Betamax.configure() as _config:
    _config.before_record(callback=_scrub)
OPTIONS = {
    "record_mode": "all" if RECORDING else "none",
    "match_requests_on": ["method", "path", "query", "body"],
    "serialize_with": "json",
}


@pytest.fixture
def platform() -> GoogleAdsPlatform:
    return GoogleAdsPlatform(TARGET.settings)


@pytest.fixture
def target() -> Target:
    return TARGET


@pytest.fixture
def account() -> AccountRef:
    return TARGET.account


@pytest.fixture
def session(request: pytest.FixtureRequest, platform: GoogleAdsPlatform) -> Iterator[OAuth2Session]:
    """An Authlib session like the host's, wrapped in this test's own cassette."""
    token_value = _access_token(platform)
    session = cassettes.bearer_session(platform.oauth_spec().client_id, token_value)
    name = cassettes.cassette_name(request.node.name, prefix="google_")
    if RECORDING:
        CASSETTES.mkdir(exist_ok=True)
        (CASSETTES / f"{name}.json").unlink(missing_ok=True)
    saved_dir = Configuration.CASSETTE_LIBRARY_DIR
    saved_options = dict(Cassette.default_cassette_options)
    recorder = betamax.Betamax(
        session, cassette_library_dir=str(CASSETTES), default_cassette_options=dict(OPTIONS)
    )
    try:
        yield from _recorded(recorder, name, token_value, platform, session)
    finally:
        Configuration.CASSETTE_LIBRARY_DIR = saved_dir
        Cassette.default_cassette_options = saved_options


def _recorded(
    recorder: betamax.Betamax,
    name: str,
    token_value: str,
    platform: GoogleAdsPlatform,
    session: OAuth2Session,
) -> Iterator[OAuth2Session]:
    with cassettes.checked_cassette(
        recorder,
        name,
        RECORDING,
        placeholders=[
            {"placeholder": "<ACCESS_TOKEN>", "replace": token_value},
            {"placeholder": "<CLIENT_SECRET>", "replace": platform.config.client_secret},
            {"placeholder": "<GOOGLE_EMULATOR_URL>", "replace": platform.config.emulator_url},
        ],
    ):
        yield session


@pytest.fixture
def anchor(request: pytest.FixtureRequest) -> datetime:
    """ "Now" for a cassette test: the recording hour, so replayed bodies equal recorded ones."""
    name = cassettes.cassette_name(request.node.name, prefix="google_")
    return cassettes.anchor_hour(
        CASSETTES / f"{name}.json", RECORDING, "platforms/google_ads/README.md"
    )


def emulator_call(path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """A control-API call while recording (on replay its effect is already in the cassette)."""
    if not RECORDING or not ON_EMULATOR:
        return {}
    base = TARGET.settings["GOOGLE_ADS_EMULATOR_URL"]
    answer = requests.post(f"{base}{path}", json=payload or {}, timeout=10)
    answer.raise_for_status()
    return answer.json() if answer.content else {}
