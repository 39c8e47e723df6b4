"""Fixtures for the Microsoft Ads emulator tests: an in-process app, a controllable
clock, tokens for the seeded users and a contract-checked REST caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from platforms.microsoft_ads.emulator import create_app
from tests.helpers.emulators import Clock, pkce_pair

from .contract import check
from .operations import models

CLIENT_ID = "sourceloop-dev-client"
CLIENT_SECRET = "sourceloop-dev-secret"
REDIRECT_URI = "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback"
DEV_TOKEN = "BBD37VB98"
ADS_SCOPE = "https://ads.microsoft.com/msads.manage"
AGENCY_USER = "90000001"
DIRECT_USER = "90000002"
AGENCY_CUSTOMER = "70000001"
US_ACCOUNT = "80000011"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """msads' generated enums use a pydantic-v1 hook; its deprecation noise is not ours."""
    here = str(__file__).rsplit("/", 1)[0]
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> Flask:
    # Attribution at once here; the delay Microsoft takes has its own test.
    return create_app({"report_polls_until_ready": 2, "attribution_delay_minutes": 0}, clock=clock)


@pytest.fixture
def client(emulator: Flask) -> FlaskClient:
    return emulator.test_client()


def grant_code(client: FlaskClient, user: str, challenge: str | None = None, **extra: Any) -> str:
    body = {"user": user, "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
            "scope": f"{ADS_SCOPE} offline_access", **extra}  # fmt: skip
    if challenge:
        body.update(code_challenge=challenge, code_challenge_method="S256")
    response = client.post("/_emulator/consent", json=body)
    assert response.status_code == 201, response.json
    return response.json["code"]


def redeem(client: FlaskClient, code: str, verifier: str | None = None, **extra: str) -> Any:
    form = {"grant_type": "authorization_code", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": REDIRECT_URI,
            "scope": f"{ADS_SCOPE} offline_access", **extra}  # fmt: skip
    if verifier:
        form["code_verifier"] = verifier
    return client.post("/common/oauth2/v2.0/token", data=form)


def token_for(client: FlaskClient, user: str) -> dict[str, Any]:
    verifier, challenge = pkce_pair()
    response = redeem(client, grant_code(client, user, challenge), verifier)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def agency_token(client: FlaskClient) -> str:
    return token_for(client, AGENCY_USER)["access_token"]


@pytest.fixture
def direct_token(client: FlaskClient) -> str:
    return token_for(client, DIRECT_USER)["access_token"]


@dataclass
class ApiResult:
    status: int
    json: Any
    headers: Any


Api = Callable[..., ApiResult]


def make_api(client: FlaskClient, token: str) -> Api:
    """POST a REST operation; check request and response against the msads models."""

    def call(
        path: str,
        body: dict[str, Any],
        *,
        account: str | None = US_ACCOUNT,
        customer: str | None = AGENCY_CUSTOMER,
        headers: dict[str, str] | None = None,
        token_override: str | None = None,
        invalid_request: bool = False,
    ) -> ApiResult:
        request_model, response_model, fault_model = models(path)
        if not invalid_request:  # tests of Microsoft's own rejections send bad bodies
            check(request_model, body)
        sent = {"Authorization": f"Bearer {token_override or token}", "DeveloperToken": DEV_TOKEN}
        if customer:
            sent["CustomerId"] = customer
        if account:
            sent["CustomerAccountId"] = account
        sent.update(headers or {})
        response = client.post(path, json=body, headers={k: v for k, v in sent.items() if v})
        assert response.headers.get("TrackingId"), "every reply carries a TrackingId header"
        payload = response.get_json()
        if response.status_code == 200:
            if response_model is None:
                assert payload == {}
            else:
                check(response_model, payload)
        else:
            check(fault_model, payload)
            assert payload["TrackingId"] == response.headers["TrackingId"]
        return ApiResult(response.status_code, payload, response.headers)

    return call


@pytest.fixture
def api(client: FlaskClient, agency_token: str) -> Api:
    return make_api(client, agency_token)


@pytest.fixture
def direct_api(client: FlaskClient, direct_token: str) -> Api:
    return make_api(client, direct_token)


def fault_code(result: ApiResult) -> int:
    """The first numeric Code of any fault shape."""
    body = result.json
    errors = body.get("Errors") or body.get("OperationErrors") or body.get("BatchErrors")
    return errors[0]["Code"]
