"""Connecting Google Ads through the real Google emulator process, without a browser: the
authorize request, the account picker through managers, the login customer id kept on the
connection, and a refused refresh (``invalid_grant``) leading to Reconnect needed."""

from __future__ import annotations

import pytest
import requests
from sqlalchemy import select

from platforms.errors import ReconnectRequired
from tests.conftest import client_as, make_world
from tests.helpers.connect import AGENCY, GOOGLE_ADS
from webapp.extensions import db
from webapp.models import Connection, Credential

MANAGER, US, UK, CANCELED = "1112223333", "1234567890", "2345678901", "5678901234"


@pytest.fixture
def world(gads_app):
    return make_world()


FLOW = GOOGLE_ADS
start_connect, consent, sign_in, pick = FLOW.start_connect, FLOW.consent, FLOW.sign_in, FLOW.pick


def connect(app, world, emulator: str, account_id: str = US) -> int:
    admin = client_as(app, "admin")
    response = pick(admin, sign_in(admin, emulator, world.workspace_id), account_id)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return db.session.scalar(select(Connection.id).where(Connection.account_id == account_id))


def test_authorize_request_asks_for_offline_access_consent_pkce_and_both_scopes(
    gads_app, world
) -> None:
    params = start_connect(client_as(gads_app, "admin"), world.workspace_id)
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert (params["access_type"], params["prompt"]) == ("offline", "consent")
    assert set(params["scope"].split()) == {
        "https://www.googleapis.com/auth/adwords",
        "https://www.googleapis.com/auth/datamanager",
    }
    assert params["redirect_uri"] == "http://127.0.0.1:5000/setup/platforms/google_ads/callback"


def test_picker_lists_accounts_through_managers_and_keeps_the_login_customer(
    gads_app, world, google_emulator
) -> None:
    admin = client_as(gads_app, "admin")
    picker = sign_in(admin, google_emulator, world.workspace_id)
    page = admin.get(picker).get_data(as_text=True)
    for name in (
        "Fabrikam Agency",
        "Fabrikam Outdoor US",
        "Fabrikam Outdoor UK",
        "Fabrikam Outdoor DE",
        "Fabrikam Old Brand",
    ):
        assert name in page, name
    assert "manager account" in page.lower()
    # A manager cannot be picked.
    refused = pick(admin, picker, MANAGER)
    assert refused.status_code in (400, 303, 200)
    assert db.session.scalar(select(Connection).where(Connection.account_id == MANAGER)) is None

    response = pick(admin, picker, UK)
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    connection = db.session.scalar(select(Connection).where(Connection.account_id == UK))
    assert connection.platform_key == "google_ads"
    assert connection.customer_id == MANAGER  # reached only through the manager


def test_a_revoked_grant_needs_a_reconnect(gads_app, world, google_emulator) -> None:
    from webapp.connections.credentials import fresh_token

    connection_id = connect(gads_app, world, google_emulator, US)
    connection = db.session.get(Connection, connection_id)
    requests.post(
        f"{google_emulator}/_emulator/users/{AGENCY}/revoke", timeout=10
    ).raise_for_status()

    with pytest.raises(ReconnectRequired) as caught:
        fresh_token(connection.credential_id, force=True)

    assert caught.value.code == "invalid_grant"
    db.session.expire_all()
    assert db.session.get(Credential, connection.credential_id).status == Credential.REVOKED
    assert db.session.get(Connection, connection_id).status != Connection.ACTIVE
