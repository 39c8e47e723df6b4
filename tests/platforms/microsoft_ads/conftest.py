"""Fixtures for the Microsoft Ads plugin tests: betamax cassettes, one per test.

Replay is the default (``record_mode="none"``: a request missing from the cassette fails the
test). ``MSADS_CASSETTE_RECORD=1`` re-records against the emulator (``MSADS_EMULATOR_URL``) or,
with ``MSADS_ENVIRONMENT=sandbox`` and real credentials, against Microsoft's sandbox; see the
plugin README. Secrets become placeholders before a cassette is written, token bodies are scrubbed,
and matching uses method + path + query + body so the emulator's port (or the sandbox host) does
not matter on replay.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import betamax
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from betamax.cassette import Cassette

from platforms.base import AccountRef
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from platforms.microsoft_ads.reporting import PollPolicy
from tests.helpers import cassettes

CASSETTES = Path(__file__).parent / "cassettes"
RECORDING = os.environ.get("MSADS_CASSETTE_RECORD", "").strip().lower() in ("1", "true", "yes")

# Replay values: what the placeholders turn back into. Never real secrets.
FAKE = {
    "<ACCESS_TOKEN>": "replayed-access-token",
    "<DEVELOPER_TOKEN>": "replayed-developer-token",
    "<CLIENT_SECRET>": "replayed-client-secret",
}
REPLAY_EMULATOR_URL = "http://msads-emulator.invalid"


@dataclass(frozen=True)
class Target:
    """Where cassettes are recorded and which account the tests use there."""

    settings: dict[str, str]
    account: AccountRef
    other_account: AccountRef  # a second account (paused in the emulator's seed)
    goal_name: str
    young_goal_name: str  # a goal created less than 2 hours ago -> 5615
    user: str


def _target() -> Target:
    env = os.environ
    environment = env.get("MSADS_ENVIRONMENT", "emulator") if RECORDING else "emulator"
    settings = {
        "MSADS_ENVIRONMENT": environment,
        "MSADS_EMULATOR_URL": env.get("MSADS_EMULATOR_URL", "http://127.0.0.1:5055")
        if RECORDING
        else REPLAY_EMULATOR_URL,
        "MSADS_CLIENT_ID": env.get("MSADS_CLIENT_ID", "sourceloop-dev-client"),
        "MSADS_CLIENT_SECRET": env.get("MSADS_CLIENT_SECRET", "sourceloop-dev-secret")
        if RECORDING
        else FAKE["<CLIENT_SECRET>"],
        "MSADS_DEVELOPER_TOKEN": env.get("MSADS_DEVELOPER_TOKEN", "BBD37VB98")
        if RECORDING
        else FAKE["<DEVELOPER_TOKEN>"],
    }
    return Target(
        settings=settings,
        account=AccountRef(
            env.get("MSADS_TEST_ACCOUNT_ID", "80000011"),
            env.get("MSADS_TEST_CUSTOMER_ID", "70000001"),
        ),
        other_account=AccountRef(
            env.get("MSADS_TEST_OTHER_ACCOUNT_ID", "80000013"),
            env.get("MSADS_TEST_CUSTOMER_ID", "70000001"),
        ),
        goal_name=env.get("MSADS_TEST_GOAL_NAME", "Closed won"),
        young_goal_name=env.get("MSADS_TEST_YOUNG_GOAL_NAME", "Demo booked"),
        user=env.get("MSADS_TEST_USER", "alex@fabrikam-agency.example"),
    )


TARGET = _target()


def _access_token(platform: MicrosoftAdsPlatform) -> str:
    """A real access token when recording; never written anywhere but the scrubbed cassette."""
    if not RECORDING:
        return FAKE["<ACCESS_TOKEN>"]
    if os.environ.get("MSADS_TEST_ACCESS_TOKEN"):
        return os.environ["MSADS_TEST_ACCESS_TOKEN"]
    spec = platform.oauth_spec()
    form: dict[str, str] = {
        "client_id": spec.client_id,
        "client_secret": spec.client_secret,
        "scope": " ".join(spec.scopes),
    }
    if os.environ.get("MSADS_TEST_REFRESH_TOKEN"):
        form |= {
            "grant_type": "refresh_token",
            "refresh_token": os.environ["MSADS_TEST_REFRESH_TOKEN"],
        }
    else:  # the emulator grants consent without a browser
        form |= cassettes.emulator_code_grant(TARGET.settings["MSADS_EMULATOR_URL"], TARGET.user)
    return cassettes.fetch_access_token(spec.token_url, form)


def _scrub(interaction: Any, current_cassette: Cassette) -> None:
    """Before a recording is written: no bearer token, no token bodies, no cookies, text bodies
    as text. The developer token, access token and client secret also become placeholders at
    save time."""
    cassettes.scrub(interaction, text_bodies=True)


def _configure() -> None:
    with betamax.Betamax.configure() as config:
        config.cassette_library_dir = str(CASSETTES)
        config.default_cassette_options["record_mode"] = "all" if RECORDING else "none"
        config.default_cassette_options["match_requests_on"] = ["method", "path", "query", "body"]
        config.default_cassette_options["serialize_with"] = "json"
        # Report downloads are ZIP files: keep their bytes exact (base64 in the cassette).
        config.preserve_exact_body_bytes = True
        config.before_record(callback=_scrub)


_configure()


@pytest.fixture
def platform() -> MicrosoftAdsPlatform:
    plugin = MicrosoftAdsPlatform(TARGET.settings)
    plugin.sleep = lambda seconds: None
    plugin.poll_policy = PollPolicy(first_delay=1.0, max_delay=5.0, max_wait=600.0)
    return plugin


@pytest.fixture
def account() -> AccountRef:
    return TARGET.account


@pytest.fixture
def target() -> Target:
    return TARGET


@pytest.fixture
def session(
    request: pytest.FixtureRequest, platform: MicrosoftAdsPlatform
) -> Iterator[OAuth2Session]:
    """An Authlib session like the host's, wrapped in this test's own cassette."""
    token_value = _access_token(platform)
    session = cassettes.bearer_session(platform.oauth_spec().client_id, token_value)
    name = cassettes.cassette_name(request.node.name)
    if RECORDING:
        (CASSETTES / f"{name}.json").unlink(missing_ok=True)  # no stale interactions
    recorder = betamax.Betamax(session)
    with cassettes.checked_cassette(
        recorder,
        name,
        RECORDING,
        placeholders=[
            {"placeholder": "<ACCESS_TOKEN>", "replace": token_value},
            {"placeholder": "<DEVELOPER_TOKEN>", "replace": platform.config.developer_token},
            {"placeholder": "<CLIENT_SECRET>", "replace": platform.config.client_secret},
            {"placeholder": "<MSADS_EMULATOR_URL>", "replace": platform.config.emulator_url},
        ],
    ):
        yield session


@pytest.fixture
def anchor(request: pytest.FixtureRequest) -> datetime:
    """ "Now" for a cassette test: the recording hour, so replayed bodies equal recorded ones.

    Conversion times must be within Microsoft's 90 days of the real now when recording, and
    byte-identical when replaying; the hour of the cassette's first interaction serves both."""
    name = cassettes.cassette_name(request.node.name)
    return cassettes.anchor_hour(
        CASSETTES / f"{name}.json", RECORDING, "platforms/microsoft_ads/README.md"
    )


def hours_before(anchor: datetime, hours: float) -> datetime:
    return anchor - timedelta(hours=hours)


ON_EMULATOR = TARGET.settings["MSADS_ENVIRONMENT"] == "emulator"


def arm_fault(operation: str, kind: str, count: int = 1) -> None:
    """Make the emulator fail the next ``count`` calls (only while recording: on replay the
    fault is already in the cassette)."""
    if not RECORDING:
        return
    if not ON_EMULATOR:
        pytest.skip("fault injection needs the emulator")
    cassettes.arm_emulator_fault(TARGET.settings["MSADS_EMULATOR_URL"], operation, kind, count)


@pytest.fixture(autouse=True)
def _no_leftover_faults() -> Iterator[None]:
    yield
    if RECORDING and ON_EMULATOR:
        requests.delete(f"{TARGET.settings['MSADS_EMULATOR_URL']}/_emulator/faults", timeout=10)
