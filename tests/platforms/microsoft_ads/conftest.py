"""Fixtures for the Microsoft Ads plugin tests: betamax cassettes, one per test.

Replay is the default (``record_mode="none"``: a request missing from the cassette fails the
test). ``MSADS_CASSETTE_RECORD=1`` re-records against the emulator (``MSADS_EMULATOR_URL``) or,
with ``MSADS_ENVIRONMENT=sandbox`` and real credentials, against Microsoft's sandbox; see the
plugin README. Secrets become placeholders before a cassette is written, token bodies are scrubbed,
and matching uses method + path + query + body so the emulator's port (or the sandbox host) does
not matter on replay.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
        base = TARGET.settings["MSADS_EMULATOR_URL"]
        granted = requests.post(f"{base}/_emulator/consent", json={"user": TARGET.user}, timeout=10)
        granted.raise_for_status()
        answer = granted.json()
        redirect_uri = answer["redirect_url"].split("?", 1)[0]
        form |= {
            "grant_type": "authorization_code",
            "code": answer["code"],
            "redirect_uri": redirect_uri,
        }
    token = requests.post(spec.token_url, data=form, timeout=30)
    token.raise_for_status()
    return str(token.json()["access_token"])


_TOKEN_FIELDS = re.compile(r'"(access_token|refresh_token|id_token)"\s*:\s*"[^"]*"')


def _as_text(body: dict[str, Any]) -> None:
    """Store text bodies as text (readable, and visible to placeholders and scrubbing); only
    binary ones (report ZIPs) stay base64."""
    if "base64_string" not in body:
        return
    try:
        text = base64.b64decode(body["base64_string"]).decode("utf-8")
    except UnicodeDecodeError:
        return
    del body["base64_string"]
    body["string"] = text


def _scrub(interaction: Any, current_cassette: Cassette) -> None:
    """Before a recording is written: no bearer token, no token bodies, no cookies. The
    developer token, access token and client secret also become placeholders at save time."""
    # Betamax's "all" mode would otherwise let a later identical request (a retry after 117,
    # a second GetAccountProperties) overwrite this one; a used interaction is never matched.
    interaction.used = True
    request = interaction.data["request"]
    response = interaction.data["response"]
    request["headers"].pop("Cookie", None)
    response["headers"].pop("Set-Cookie", None)
    # Placeholders change body lengths (the emulator URL inside a report link), so a recorded
    # Content-Length would truncate the replayed body.
    response["headers"].pop("Content-Length", None)
    if "Authorization" in request["headers"]:
        request["headers"]["Authorization"] = ["Bearer <ACCESS_TOKEN>"]
    for body in (request.get("body", {}), response.get("body", {})):
        _as_text(body)
        if isinstance(body.get("string"), str):
            body["string"] = _TOKEN_FIELDS.sub(r'"\1": "<SCRUBBED>"', body["string"])


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
    session = OAuth2Session(
        client_id=platform.oauth_spec().client_id,
        token={"access_token": token_value, "token_type": "Bearer", "expires_at": 4102444800},
    )
    name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name).strip("_")
    if RECORDING:
        (CASSETTES / f"{name}.json").unlink(missing_ok=True)  # no stale interactions
    recorder = betamax.Betamax(session)
    with recorder.use_cassette(
        name,
        placeholders=[
            {"placeholder": "<ACCESS_TOKEN>", "replace": token_value},
            {"placeholder": "<DEVELOPER_TOKEN>", "replace": platform.config.developer_token},
            {"placeholder": "<CLIENT_SECRET>", "replace": platform.config.client_secret},
            {"placeholder": "<MSADS_EMULATOR_URL>", "replace": platform.config.emulator_url},
        ],
    ):
        yield session
        cassette = recorder.current_cassette
        assert cassette is not None
        if RECORDING:
            assert cassette.interactions, f"cassette {name} recorded nothing"
        else:
            assert any(i.used for i in cassette.interactions), f"cassette {name} played nothing"


@pytest.fixture
def anchor(request: pytest.FixtureRequest) -> datetime:
    """ "Now" for a cassette test: the recording hour, so replayed bodies equal recorded ones.

    Conversion times must be within Microsoft's 90 days of the real now when recording, and
    byte-identical when replaying; the hour of the cassette's first interaction serves both."""
    if RECORDING:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name).strip("_")
    path = CASSETTES / f"{name}.json"
    if not path.exists():
        pytest.fail(f"no cassette {path.name}; record it (see platforms/microsoft_ads/README.md)")
    first = json.loads(path.read_text())["http_interactions"][0]["recorded_at"]
    recorded = datetime.fromisoformat(first.replace("Z", "+00:00"))
    return recorded.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


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
    base = TARGET.settings["MSADS_EMULATOR_URL"]
    answer = requests.post(
        f"{base}/_emulator/faults",
        json={"operation": operation, "kind": kind, "count": count},
        timeout=10,
    )
    answer.raise_for_status()


@pytest.fixture(autouse=True)
def _no_leftover_faults() -> Iterator[None]:
    yield
    if RECORDING and ON_EMULATOR:
        requests.delete(f"{TARGET.settings['MSADS_EMULATOR_URL']}/_emulator/faults", timeout=10)
