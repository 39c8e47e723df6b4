"""Connecting Microsoft Ads through the real emulator process: the whole flow without a browser,
refresh and rotation, concurrent refresh, revocation → Reconnect needed → Reconnect, and every
OAuth error path landing on Ad Platforms with a message."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from tests.conftest import client_as, csrf_token, make_world
from tests.helpers.connect import AGENCY, MICROSOFT_ADS
from webapp.extensions import db
from webapp.models import AuditEvent, Connection, Credential
from webapp.models.types import utcnow

DIRECT = "dana@contoso-bikes.example"


@pytest.fixture
def world(ms_app):
    return make_world()


FLOW = MICROSOFT_ADS
start_connect, consent, sign_in, pick = FLOW.start_connect, FLOW.consent, FLOW.sign_in, FLOW.pick


def test_authorize_request_has_pkce_state_scopes_and_account_picker(ms_app, world) -> None:
    params = start_connect(client_as(ms_app, "admin"), world.workspace_id)
    assert params["code_challenge_method"] == "S256" and len(params["code_challenge"]) >= 43
    assert params["prompt"] == "select_account" and params["state"]
    assert set(params["scope"].split()) >= {
        "https://ads.microsoft.com/msads.manage",
        "offline_access",
    }
    assert params["redirect_uri"] == (
        "http://127.0.0.1:5000/setup/platforms/microsoft_ads/callback"
    )


def test_agency_connects_two_accounts_with_one_sign_in(ms_app, world, emulator) -> None:
    admin = client_as(ms_app, "admin")
    picker_url = sign_in(admin, emulator, world.workspace_id)
    picker = admin.get(picker_url).get_data(as_text=True)
    # Grouped by manager; the manager and the paused account cannot be picked, with reasons.
    assert "Fabrikam Outdoor US" in picker and "80000011" in picker
    # The manager account by its name (GetCustomersInfo), not "Manager account 70000001".
    assert "Fabrikam Agency" in picker and "Manager account 70000001" not in picker
    assert picker.count("Connect this account") == 2
    assert "ineligible-reason" in picker
    assert pick(admin, picker_url, "80000011").status_code == 303
    assert pick(admin, picker_url, "80000012").status_code == 303
    connections = db.session.scalars(select(Connection).order_by(Connection.account_id)).all()
    assert [(c.account_id, c.currency, c.status) for c in connections] == [
        ("80000011", "USD", "active"),
        ("80000012", "GBP", "active"),
    ]
    assert connections[0].credential_id == connections[1].credential_id  # one shared grant
    page = admin.get(f"/w/{world.workspace_id}/setup/platforms").get_data(as_text=True)
    assert "Connected" in page and "Account ID 80000011" in page and "Fabrikam Outdoor UK" in page
    again = pick(admin, picker_url, "80000011")
    assert again.status_code == 303
    assert "already connected" in admin.get(again.location).get_data(as_text=True)
    assert len(db.session.scalars(select(Connection)).all()) == 2


def test_paused_or_manager_account_cannot_be_forced(ms_app, world, emulator) -> None:
    admin = client_as(ms_app, "admin")
    picker_url = sign_in(admin, emulator, world.workspace_id)
    from webapp.connections.credentials import session_for_credential

    grant = int(parse_qs(urlsplit(picker_url).query)["grant"][0])
    listed = (
        ms_app.extensions["platforms"]
        .get("microsoft_ads")
        .list_accounts(session_for_credential(grant))
    )
    ineligible = [a.ref.account_id for a in listed if not a.eligible]
    assert "80000013" in ineligible and any(a.is_manager for a in listed)  # paused + manager
    for account_id in ineligible + ["not-an-account"]:
        response = pick(admin, picker_url, account_id)
        assert response.status_code in (303, 400)
    assert db.session.scalars(select(Connection)).all() == []


def test_single_eligible_account_is_said_and_still_confirmed(ms_app, world, emulator) -> None:
    admin = client_as(ms_app, "admin")
    picker_url = sign_in(admin, emulator, world.workspace_id, user=DIRECT)
    page = admin.get(picker_url).get_data(as_text=True)
    assert 'data-testid="single-account"' in page
    assert db.session.scalars(select(Connection)).all() == []  # nothing until confirmed


def test_cancel_forged_state_and_reused_code_land_on_ad_platforms(ms_app, world, emulator) -> None:
    admin = client_as(ms_app, "admin")
    platforms_page = f"/w/{world.workspace_id}/setup/platforms"
    params = start_connect(admin, world.workspace_id)
    cancelled = admin.get(
        f"/setup/platforms/microsoft_ads/callback?error=access_denied"
        f"&error_description=AADSTS65004&state={params['state']}"
    )
    assert cancelled.status_code == 302 and cancelled.location.endswith(platforms_page)
    assert "You cancelled" in admin.get(platforms_page).get_data(as_text=True)

    params = start_connect(admin, world.workspace_id)
    forged = admin.get(consent(emulator, {**params, "state": "forged"}))
    assert forged.status_code == 302
    assert "state mismatch" in admin.get(platforms_page).get_data(as_text=True)

    params = start_connect(admin, world.workspace_id)
    callback = consent(emulator, params)
    assert admin.get(callback).status_code == 302
    stale = admin.get(callback)  # the pending sign-in was used up
    assert stale.status_code == 302
    assert "stale" in admin.get(stale.location, follow_redirects=True).get_data(as_text=True)


def test_rejected_code_is_a_message_not_a_500(ms_app, world, emulator) -> None:
    """A code the token endpoint refuses (here: PKCE verifier of another attempt, AADSTS501481;
    expired and reused codes take the same path) lands on Ad Platforms with a message."""
    admin = client_as(ms_app, "admin")
    first = start_connect(admin, world.workspace_id)
    code = parse_qs(urlsplit(consent(emulator, first)).query)["code"][0]
    second = start_connect(admin, world.workspace_id)  # replaces the pending verifier
    response = admin.get(
        f"/setup/platforms/microsoft_ads/callback?code={code}&state={second['state']}"
    )
    assert response.status_code == 302
    page = admin.get(response.location).get_data(as_text=True)
    assert "did not accept the sign-in (invalid_grant)" in page
    assert db.session.scalars(select(Credential)).all() == []


def test_member_cannot_start_finish_or_forge_any_step(ms_app, world, emulator) -> None:
    admin, member = client_as(ms_app, "admin"), client_as(ms_app, "member")
    ws = world.workspace_id
    assert (
        member.post(
            f"/w/{ws}/setup/platforms/microsoft_ads/connect",
            data={"csrf_token": csrf_token(member, "/")},
        ).status_code
        == 403
    )
    picker_url = sign_in(admin, emulator, ws)
    assert member.get(picker_url).status_code == 403
    grant = parse_qs(urlsplit(picker_url).query)["grant"][0]
    assert (
        member.post(
            picker_url,
            data={"grant": grant, "account_id": "80000011", "csrf_token": csrf_token(member, "/")},
        ).status_code
        == 403
    )
    # A member replaying a callback gets no pending sign-in of their own.
    params = start_connect(admin, ws)
    response = member.get(consent(emulator, params))
    assert response.status_code == 302 and db.session.scalars(select(Connection)).all() == []


def test_nobody_attaches_an_account_to_another_workspace(ms_app, world, emulator) -> None:
    admin, other = client_as(ms_app, "admin"), client_as(ms_app, "other_admin")
    picker_url = sign_in(admin, emulator, world.workspace_id)
    # The other workspace's admin cannot use Acme's grant, even through their own workspace URL.
    grant = parse_qs(urlsplit(picker_url).query)["grant"][0]
    foreign = f"/w/{world.other_workspace_id}/setup/platforms/microsoft_ads/accounts?grant={grant}"
    assert other.get(foreign).status_code == 404
    assert other.get(picker_url).status_code == 404
    assert db.session.scalars(select(Connection)).all() == []


def _connect_one(ms_app, world, emulator) -> Connection:
    admin = client_as(ms_app, "admin")
    pick(admin, sign_in(admin, emulator, world.workspace_id), "80000011")
    return db.session.scalar(select(Connection))


def test_refresh_rotates_and_stores_the_new_refresh_token(ms_app, world, emulator) -> None:
    from webapp.connections.credentials import fresh_token, session_for_connection

    connection = _connect_one(ms_app, world, emulator)
    credential = connection.credential
    old_refresh = credential.refresh_token
    credential.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    session = session_for_connection(connection.id)
    db.session.expire_all()
    assert credential.refresh_token != old_refresh  # rotated and stored
    assert session.token["access_token"] == credential.access_token
    platform = ms_app.extensions["platforms"].get("microsoft_ads")
    assert platform.list_accounts(session)  # the refreshed token works
    assert fresh_token(credential.id)["refresh_token"] == credential.refresh_token


class _Recorder(requests.adapters.BaseAdapter):
    """Answers 204 and keeps what each request carried."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str | None, object]] = []

    def send(self, request, **kwargs):
        self.seen.append((request.headers.get("Authorization"), kwargs.get("timeout")))
        response = requests.Response()
        response.status_code, response.request = 204, request
        return response

    def close(self) -> None:
        pass


def test_the_session_signs_each_request_and_refreshes_a_token_that_ends_while_held(
    ms_app, world, emulator
) -> None:
    from webapp.connections.credentials import HTTP_TIMEOUT, session_for_connection

    connection = _connect_one(ms_app, world, emulator)
    session = session_for_connection(connection.id)
    recorder = _Recorder()
    session.mount("https://platform.invalid/", recorder)
    first = session.token["access_token"]
    session.get("https://platform.invalid/a")
    session.get("https://platform.invalid/b", timeout=5)
    session.get("https://platform.invalid/c", auth=lambda request: request)  # the caller's own
    assert recorder.seen == [
        (f"Bearer {first}", HTTP_TIMEOUT),
        (f"Bearer {first}", 5),
        (None, HTTP_TIMEOUT),
    ]
    refreshes = len(_token_calls(emulator))
    # The token now ends within the platform's leeway (as an hour-long push would see it).
    db.session.get(Connection, connection.id).credential.expires_at = utcnow() + timedelta(
        seconds=60
    )
    db.session.commit()
    session.token = {**session.token, "expires_at": int(time.time()) + 60}
    session.get("https://platform.invalid/d")
    assert len(_token_calls(emulator)) == refreshes + 1
    renewed = session.token["access_token"]
    assert renewed != first and recorder.seen[-1] == (f"Bearer {renewed}", HTTP_TIMEOUT)
    db.session.expire_all()
    assert db.session.get(Connection, connection.id).credential.access_token == renewed
    session.get("https://platform.invalid/e")  # fresh now: no second refresh
    assert len(_token_calls(emulator)) == refreshes + 1


def _token_calls(emulator: str) -> list[dict]:
    calls = requests.get(f"{emulator}/_emulator/calls", timeout=10).json()["calls"]
    return [call for call in calls if call["operation"] == "Token"]


def test_concurrent_refresh_never_loses_the_newest_token(ms_app, world, emulator) -> None:
    from webapp.connections.credentials import fresh_token

    connection = _connect_one(ms_app, world, emulator)
    credential_id = connection.credential_id
    connection.credential.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    results, errors = [], []

    def refresh() -> None:
        with ms_app.app_context():
            try:
                results.append(fresh_token(credential_id)["refresh_token"])
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)
            finally:
                db.session.remove()

    tokens_before = len(_token_calls(emulator))
    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert len(set(results)) == 1  # one refresh happened; everyone got its result
    token_calls = _token_calls(emulator)
    assert len(token_calls) == tokens_before + 1  # exactly one refresh reached the token endpoint
    assert all(call["status"] == 200 for call in token_calls)  # no rotated token was replayed
    db.session.expire_all()
    assert db.session.get(Credential, credential_id).refresh_token == results[0]


def test_revoked_grant_needs_reconnect_then_reconnect_resumes(ms_app, world, emulator) -> None:
    from platforms.errors import ReconnectRequired
    from webapp.connections.credentials import session_for_connection

    connection = _connect_one(ms_app, world, emulator)
    connection_id = connection.id
    requests.post(f"{emulator}/_emulator/users/{AGENCY}/revoke", timeout=10).raise_for_status()
    connection.credential.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(ReconnectRequired):
        session_for_connection(connection_id)
    db.session.expire_all()
    connection = db.session.get(Connection, connection_id)
    assert connection.status == Connection.RECONNECT_NEEDED
    assert "connection.reconnect_needed" in db.session.scalars(select(AuditEvent.action)).all()
    admin = client_as(ms_app, "admin")
    for page in ("/", "/setup/platforms", "/setup/members/"):
        html = admin.get(f"/w/{world.workspace_id}{page}").get_data(as_text=True)
        assert "needs to be reconnected" in html

    picker_url = sign_in(admin, emulator, world.workspace_id, reconnect=connection_id)
    assert "Reconnect this account" in admin.get(picker_url).get_data(as_text=True)
    assert FLOW.confirm_reconnect(admin, picker_url, connection_id).status_code == 303
    db.session.expire_all()
    connection = db.session.get(Connection, connection_id)
    assert connection.status == Connection.ACTIVE and connection.id == connection_id
    platform = ms_app.extensions["platforms"].get("microsoft_ads")
    assert platform.list_accounts(session_for_connection(connection_id))


def test_disconnect_deletes_tokens_and_reset_deletes_the_connection(
    ms_app, world, emulator
) -> None:
    connection = _connect_one(ms_app, world, emulator)
    connection_id, credential_id = connection.id, connection.credential_id
    admin = client_as(ms_app, "admin")
    base = f"/w/{world.workspace_id}/setup/connections/{connection_id}"
    assert (
        admin.post(f"{base}/disconnect", data={"csrf_token": csrf_token(admin, base)}).status_code
        == 303
    )
    db.session.expire_all()
    assert db.session.get(Credential, credential_id) is None
    assert db.session.get(Connection, connection_id).status == Connection.DISCONNECTED
    assert (
        admin.post(f"{base}/reset", data={"csrf_token": csrf_token(admin, base)}).status_code == 303
    )
    db.session.expire_all()
    assert db.session.get(Connection, connection_id) is None
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"connection.created", "connection.disconnected", "connection.reset"} <= set(actions)


def test_auto_tagging_is_checked_on_connect_and_can_be_switched_on(
    ms_app,
    world,
    emulator,
    burst_worker,
):
    admin = client_as(ms_app, "admin")
    pick(admin, sign_in(admin, emulator, world.workspace_id, user=DIRECT), "80000021")
    connection_id = db.session.scalar(select(Connection.id))
    burst_worker()  # the check enqueued on connect
    db.session.expire_all()
    assert db.session.get(Connection, connection_id).auto_tagging is False
    card = admin.get(f"/w/{world.workspace_id}/setup/platforms").get_data(as_text=True)
    assert "Auto-tagging is off" in card and "cannot be matched" in card

    page = f"/w/{world.workspace_id}/setup/connections/{connection_id}"
    response = admin.post(f"{page}/auto-tagging", data={"csrf_token": csrf_token(admin, page)})
    assert response.status_code == 303 and "run=" in response.location
    assert "data-job-status-url" in admin.get(response.location).get_data(as_text=True)
    run_id = parse_qs(urlsplit(response.location).query)["run"][0]
    status_url = f"/w/{world.workspace_id}/jobs/{run_id}"
    assert admin.get(status_url).get_json()["status"] == "queued"
    burst_worker()
    status = admin.get(status_url).get_json()
    assert (status["status"], status["progress"], status["error"]) == ("succeeded", 100, None)
    db.session.expire_all()
    assert db.session.get(Connection, connection_id).auto_tagging is True
    state = requests.get(f"{emulator}/_emulator/state", timeout=10).json()
    assert "80000021" in str(state)
    assert "Auto-tagging is off" not in admin.get(
        f"/w/{world.workspace_id}/setup/platforms"
    ).get_data(as_text=True)


def test_cli_lists_connections_and_rotates_keys(ms_app, world, emulator) -> None:
    from cryptography.fernet import Fernet
    from sqlalchemy import text

    _connect_one(ms_app, world, emulator)
    runner = ms_app.test_cli_runner()
    listed = runner.invoke(args=["connections", "list", "--workspace", "Acme"])
    assert listed.exit_code == 0 and "80000011" in listed.output and "active" in listed.output
    assert runner.invoke(args=["connections", "list", "--workspace", "Nope"]).exit_code != 0

    credential = db.session.scalar(select(Credential))
    refresh = credential.refresh_token
    before = db.session.execute(text("SELECT refresh_token FROM credentials")).scalar()
    new_key = Fernet.generate_key().decode()
    old_keys = ms_app.config["TOKEN_ENCRYPTION_KEYS"]
    ms_app.config["TOKEN_ENCRYPTION_KEYS"] = (new_key, *old_keys)
    ms_app.extensions.pop("sourceloop_fernet", None)
    try:
        result = runner.invoke(args=["tokens", "rotate-key"])
        assert result.exit_code == 0 and "credentials.refresh_token" in result.output
        after = db.session.execute(text("SELECT refresh_token FROM credentials")).scalar()
        assert after != before
        assert Fernet(new_key.encode()).decrypt(after.encode()).decode() == refresh
    finally:
        ms_app.config["TOKEN_ENCRYPTION_KEYS"] = old_keys
        ms_app.extensions.pop("sourceloop_fernet", None)


def test_tokens_never_reach_logs_or_pages(ms_app, world, emulator, caplog) -> None:
    import logging

    from webapp.connections.credentials import session_for_connection

    caplog.set_level(logging.DEBUG)
    admin = client_as(ms_app, "admin")
    picker_url = sign_in(admin, emulator, world.workspace_id)
    pages = [admin.get(picker_url).get_data(as_text=True)]
    pick(admin, picker_url, "80000011")
    connection = db.session.scalar(select(Connection))
    connection.credential.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    session_for_connection(connection.id)  # a refresh, logged
    db.session.expire_all()
    credential = db.session.scalar(select(Credential))
    for path in ("/setup/platforms", f"/setup/connections/{connection.id}", "/setup/workspace/"):
        pages.append(admin.get(f"/w/{world.workspace_id}{path}").get_data(as_text=True))
    secrets_ = [credential.access_token, credential.refresh_token, "sourceloop-dev-secret"]
    haystack = caplog.text + "".join(pages)
    for secret in secrets_:
        assert secret and secret not in haystack
