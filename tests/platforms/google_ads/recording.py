"""Betamax cassettes for the Google Ads plugin's reads, one per test (see the plugin README,
"Cassettes").

Replay is the default: a request missing from the cassette fails the test, and so does a cassette
that played nothing. ``GOOGLE_ADS_CASSETTE_RECORD=1`` re-records against the emulator
(``GOOGLE_ADS_EMULATOR_URL``) or, with ``GOOGLE_ADS_ENVIRONMENT=production`` and real
credentials, against Google. Every option is given per cassette (no global betamax
configuration, which other platforms' tests set for themselves), secrets and account ids become
placeholders, and requests match on method, path, query and body, so neither the recording host
nor the real account ids matter on replay.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import betamax
import pytest
from authlib.integrations.requests_client import OAuth2Session
from betamax.configure import Configuration

from platforms.base import AccountRef
from platforms.google_ads.plugin import GoogleAdsPlatform
from tests.helpers import cassettes

CASSETTES = Path(__file__).parent / "cassettes"
RECORDING = os.environ.get("GOOGLE_ADS_CASSETTE_RECORD", "").strip().lower() in ("1", "true", "yes")
REPLAY_EMULATOR_URL = "http://google-emulator.invalid"
# Replay values of the placeholders: never real secrets or real ids.
REPLAY_ACCESS_TOKEN = "replayed-access-token"
REPLAY_CUSTOMER_ID = "1234567890"
REPLAY_LOGIN_CUSTOMER_ID = "1112223333"


@dataclass(frozen=True)
class Target:
    settings: dict[str, str]
    account: AccountRef  # account_id: the customer; customer_id: the login (manager) customer
    user: str

    @property
    def on_emulator(self) -> bool:
        return self.settings["GOOGLE_ADS_ENVIRONMENT"] == "emulator"


def _target() -> Target:
    env = os.environ if RECORDING else {}
    settings = {
        "GOOGLE_ADS_ENVIRONMENT": env.get("GOOGLE_ADS_ENVIRONMENT", "emulator"),
        "GOOGLE_ADS_EMULATOR_URL": env.get("GOOGLE_ADS_EMULATOR_URL", "http://127.0.0.1:5056")
        if RECORDING
        else REPLAY_EMULATOR_URL,
        "GOOGLE_ADS_CLIENT_ID": env.get(
            "GOOGLE_ADS_CLIENT_ID", "sourceloop-dev.apps.googleusercontent.com"
        ),
        "GOOGLE_ADS_CLIENT_SECRET": env.get(
            "GOOGLE_ADS_CLIENT_SECRET", "GOCSPX-sourceloop-dev-secret"
        ),
    }
    return Target(
        settings=settings,
        account=AccountRef(
            env.get("GOOGLE_ADS_TEST_CUSTOMER_ID", REPLAY_CUSTOMER_ID),
            env.get("GOOGLE_ADS_TEST_LOGIN_CUSTOMER_ID", REPLAY_LOGIN_CUSTOMER_ID) or None,
        ),
        user=env.get("GOOGLE_ADS_TEST_USER", "alex@fabrikam-agency.example"),
    )


TARGET = _target()
REPLAY_ACCOUNT = AccountRef(REPLAY_CUSTOMER_ID, REPLAY_LOGIN_CUSTOMER_ID)


def access_token(platform: GoogleAdsPlatform) -> str:
    """A real access token while recording (never written anywhere but as a placeholder)."""
    if not RECORDING:
        return REPLAY_ACCESS_TOKEN
    if os.environ.get("GOOGLE_ADS_TEST_ACCESS_TOKEN"):
        return os.environ["GOOGLE_ADS_TEST_ACCESS_TOKEN"]
    spec = platform.oauth_spec()
    form = {"client_id": spec.client_id, "client_secret": spec.client_secret}
    if os.environ.get("GOOGLE_ADS_TEST_REFRESH_TOKEN"):
        form |= {
            "grant_type": "refresh_token",
            "refresh_token": os.environ["GOOGLE_ADS_TEST_REFRESH_TOKEN"],
        }
    elif TARGET.on_emulator:  # the emulator consents without a browser (no PKCE asked)
        form |= cassettes.emulator_code_grant(
            TARGET.settings["GOOGLE_ADS_EMULATOR_URL"], TARGET.user
        )
    else:
        pytest.fail("recording against Google needs GOOGLE_ADS_TEST_REFRESH_TOKEN or _ACCESS_TOKEN")
    return cassettes.fetch_access_token(spec.token_url, form)


def cassette_name(request: pytest.FixtureRequest) -> str:
    return cassettes.cassette_name(request.node.name)


@contextmanager
def cassette_session(name: str, platform: GoogleAdsPlatform) -> Iterator[OAuth2Session]:
    """An Authlib session like the host's, wrapped in cassette ``name``."""
    token = access_token(platform)
    session = cassettes.bearer_session(platform.oauth_spec().client_id, token)
    path = CASSETTES / f"{name}.json"
    if RECORDING:
        CASSETTES.mkdir(exist_ok=True)
        path.unlink(missing_ok=True)  # no stale interactions
    elif not path.exists():
        pytest.fail(f"no cassette {path.name}; record it (platforms/google_ads/README.md)")
    placeholders = [
        {"placeholder": "<ACCESS_TOKEN>", "replace": token},
        {"placeholder": "<GOOGLE_ADS_EMULATOR_URL>", "replace": platform.config.emulator_url},
    ]
    if TARGET.account.account_id != REPLAY_CUSTOMER_ID:  # real ids never reach a cassette
        placeholders.append({"placeholder": "<CUSTOMER_ID>", "replace": TARGET.account.account_id})
    if TARGET.account.customer_id and TARGET.account.customer_id != REPLAY_LOGIN_CUSTOMER_ID:
        placeholders.append(
            {"placeholder": "<LOGIN_CUSTOMER_ID>", "replace": TARGET.account.customer_id}
        )
    # Betamax keeps the library directory on a class: set it for this cassette and put back
    # whatever the other platforms' tests configured, so their cassettes are found after ours.
    saved_dir = Configuration.CASSETTE_LIBRARY_DIR
    recorder = betamax.Betamax(session, cassette_library_dir=str(CASSETTES))
    try:
        with cassettes.checked_cassette(
            recorder,
            name,
            RECORDING,
            record="all" if RECORDING else "none",
            match_requests_on=["method", "path", "query", "body"],
            serialize_with="json",
            placeholders=placeholders,
        ):
            yield session
    finally:
        Configuration.CASSETTE_LIBRARY_DIR = saved_dir
    if RECORDING:
        _replace_ids(path)


def _replace_ids(path: Path) -> None:
    """Recorded against a real account: its ids become the replay ids, so the cassette replays
    with the tests' default account (placeholders alone would need the real ids on replay)."""
    text = path.read_text()
    text = text.replace("<CUSTOMER_ID>", REPLAY_CUSTOMER_ID)
    text = text.replace("<LOGIN_CUSTOMER_ID>", REPLAY_LOGIN_CUSTOMER_ID)
    path.write_text(text)


def recorded_day(name: str) -> date:
    """The day the cassette was recorded (today while recording): windows are relative to it,
    so a replayed query is byte-identical to the recorded one."""
    if RECORDING:
        return datetime.now(UTC).date()
    return cassettes.recorded_at(CASSETTES / f"{name}.json").date()


def recorded_on_emulator(name: str) -> bool:
    """Whether the cassette came from the emulator (its seed may then be asserted on) or from
    Google (only Google's contract may)."""
    if RECORDING:
        return TARGET.on_emulator
    first = json.loads((CASSETTES / f"{name}.json").read_text())["http_interactions"][0]
    return first["request"]["uri"].startswith("<GOOGLE_ADS_EMULATOR_URL>")


def arm_fault(operation: str, kind: str, count: int = 1) -> None:
    """Make the emulator fail the next ``count`` calls (only while recording: on replay the
    fault is in the cassette)."""
    if not RECORDING:
        return
    if not TARGET.on_emulator:
        pytest.skip("fault injection needs the emulator")
    cassettes.arm_emulator_fault(TARGET.settings["GOOGLE_ADS_EMULATOR_URL"], operation, kind, count)
