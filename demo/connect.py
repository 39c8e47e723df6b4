"""Connect the demo workspace to the emulator's Microsoft Ads account, as an Owner would.

Runs the same OAuth code flow with PKCE that the browser flow runs (the emulator grants consent
through its control API instead of its Accept button), stores the grant, connects the agency's
US account, maps the three events to offline goals and starts the first insights pull. Safe to
run again: an existing connection is kept.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

import requests
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import select

from demo.settings import credentials, emulator_url

ACCOUNT_ID = "80000011"
AGENCY_USER = "alex@fabrikam-agency.example"
# event → (goal name, value mode). "Demo booked" is minutes old in the emulator, so its pushes
# wait (Microsoft's 2-hour rule) and show up on the Troubleshoot page as they would in real life.
MAPPING = {
    "payment_received": ("Closed won", "event"),
    "form_submitted": ("Qualified lead", "none"),
    "meeting_booked": ("Demo booked", "none"),
}


def _grant(platform, redirect_uri: str) -> dict:  # noqa: ANN001
    spec = platform.oauth_spec()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    consent = requests.post(
        f"{emulator_url()}/_emulator/consent",
        timeout=10,
        json={
            "user": AGENCY_USER,
            "redirect_uri": redirect_uri,
            "scope": " ".join(spec.scopes),
            "code_challenge": challenge.rstrip("="),
            "code_challenge_method": "S256",
        },
    )
    consent.raise_for_status()
    client = OAuth2Session(
        spec.client_id, spec.client_secret, scope=" ".join(spec.scopes), redirect_uri=redirect_uri
    )
    return client.fetch_token(spec.token_url, code=consent.json()["code"], code_verifier=verifier)


_APP = None


def _app():  # noqa: ANN202
    """One app per simulator process."""
    global _APP
    if _APP is None:
        from webapp.factory import create_app

        _APP = create_app()
    return _APP


def ensure_connected() -> dict[str, str]:
    from webapp.cli.demo import DEMO_WORKSPACE
    from webapp.extensions import db, platform_registry
    from webapp.models import Connection, Membership, Workspace
    from webapp.services import connections, oauth, push_config
    from webapp.services import credentials as grants
    from webapp.services.background import enqueue_pull

    app = _app()
    with app.test_request_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
        owner = db.session.scalar(
            select(Membership).where(
                Membership.workspace_id == workspace.id, Membership.role == "owner"
            )
        )
        connection = db.session.scalar(
            select(Connection).where(
                Connection.workspace_id == workspace.id,
                Connection.account_id == ACCOUNT_ID,
                Connection.status == Connection.ACTIVE,
            )
        )
        if connection is None:
            platform = platform_registry().get("microsoft_ads")
            token = _grant(platform, oauth.callback_url(platform.key))
            credential = grants.create_pending(platform.key, workspace.id, owner.user_id, token)
            accounts = platform.list_accounts(grants.session_for_credential(credential.id))
            account = next(a for a in accounts if a.ref.account_id == ACCOUNT_ID)
            connection = connections.connect_account(owner, credential, account)
            goals = {g.name: g for g in push_config.fetch_goals(connection.id)}
            push_config.save(
                owner,
                connection,
                enabled=True,
                enhanced_conversions=True,
                default_currency="USD",
                mappings=[
                    push_config.MappingInput(event, goals[goal].goal_id, mode, "")
                    for event, (goal, mode) in MAPPING.items()
                    if goal in goals
                ],
            )
            enqueue_pull(connection.id)
        return {**credentials(), "account_id": ACCOUNT_ID}


def enqueue_attribution() -> None:
    """Ask for an attribution run of the demo workspace now (the schedule does it every 10
    minutes)."""
    from webapp.cli.demo import DEMO_WORKSPACE
    from webapp.extensions import db
    from webapp.models import Workspace
    from webapp.services.background import enqueue_attribution

    app = _app()
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
        enqueue_attribution(workspace.id)
