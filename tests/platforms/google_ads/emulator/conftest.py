"""Fixtures for the Google emulator tests: an in-process app, a settable clock, tokens for the
seeded users and helpers that call the APIs the way Google's clients do."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from platforms.google_ads.emulator import create_app
from tests.helpers import emulators
from tests.helpers.emulators import Clock

CLIENT_ID = "sourceloop-dev.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-sourceloop-dev-secret"
REDIRECT_URI = "http://127.0.0.1:5000/setup/platforms/google_ads/callback"
ADWORDS = "https://www.googleapis.com/auth/adwords"
DATAMANAGER = "https://www.googleapis.com/auth/datamanager"
AGENCY_USER = "alex@fabrikam-agency.example"
DIRECT_USER = "dana@contoso-bikes.example"
MANAGER = "1112223333"
US = "1234567890"
UK = "2345678901"
EU_MANAGER = "3334445555"
DE = "4567890123"
CANCELED = "5678901234"
DIRECT = "9876543210"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Flask:
    return create_app({"processing_delay_seconds": 0, "click_min_age_minutes": 0}, clock=clock)


@pytest.fixture
def client(emulator: Flask) -> FlaskClient:
    return emulator.test_client()


def pkce_pair() -> tuple[str, str]:
    return emulators.pkce_pair(64)


def grant_code(client: FlaskClient, user: str, challenge: str | None = None, **extra: Any) -> str:
    body = {"user": user, "redirect_uri": REDIRECT_URI, "scope": f"{ADWORDS} {DATAMANAGER}",
            **extra}  # fmt: skip
    if challenge:
        body.update(code_challenge=challenge, code_challenge_method="S256")
    response = client.post("/_emulator/consent", json=body)
    assert response.status_code == 201, response.json
    return response.json["code"]


def redeem(client: FlaskClient, code: str, verifier: str | None = None, path: str = "/token",
           **extra: str) -> Any:  # fmt: skip
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": REDIRECT_URI, **extra}  # fmt: skip
    if verifier:
        form["code_verifier"] = verifier
    return client.post(path, data=form)


def tokens_for(client: FlaskClient, user: str, scope: str = f"{ADWORDS} {DATAMANAGER}") -> dict:
    verifier, challenge = pkce_pair()
    response = redeem(client, grant_code(client, user, challenge, scope=scope), verifier)
    assert response.status_code == 200, response.json
    return response.json


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


@pytest.fixture
def agency_token(client: FlaskClient) -> str:
    return tokens_for(client, AGENCY_USER)["access_token"]


@pytest.fixture
def direct_token(client: FlaskClient) -> str:
    return tokens_for(client, DIRECT_USER)["access_token"]
