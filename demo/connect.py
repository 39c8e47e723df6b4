"""Connect the demo workspace to both emulators' ad accounts, as an Owner would.

For each platform it runs the same OAuth code flow with PKCE that the browser flow runs (each
emulator grants consent through its control API instead of its consent page), stores the grant,
connects the agency's US account (Microsoft Ads 80000011; Google Ads 123-456-7890, reached through
the agency's manager account), maps the three events to offline goals and starts the first
insights pull. Safe to run again: an existing connection is kept.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

import requests
from authlib.integrations.requests_client import OAuth2Session
from sqlalchemy import select

from demo.settings import credentials, emulator_url, google_emulator_url

AGENCY_USER = "alex@fabrikam-agency.example"


@dataclass(frozen=True)
class DemoAccount:
    platform_key: str
    account_id: str
    consent_url: str  # the emulator's non-interactive consent endpoint
    # event → (goal name or id, value mode). A goal minutes old in the emulator makes its
    # pushes wait (both platforms refuse fresh goals) and show up on the Troubleshoot page as
    # they would in real life.
    mapping: dict[str, tuple[str, str]]


def accounts() -> tuple[DemoAccount, ...]:
    return (
        DemoAccount(
            "microsoft_ads",
            "80000011",
            f"{emulator_url()}/_emulator/consent",
            {
                "payment_received": ("Closed won", "event"),
                "form_submitted": ("Qualified lead", "none"),
                "meeting_booked": ("Demo booked", "none"),
            },
        ),
        DemoAccount(
            "google_ads",
            "1234567890",
            f"{google_emulator_url()}/_emulator/consent",
            {
                # The emulator's conversion actions by id: Closed won (offline), Qualified lead
                # (enhanced conversions for leads) and Demo booked (created minutes ago).
                "payment_received": ("700000001", "event"),
                "form_submitted": ("700000002", "none"),
                "meeting_booked": ("700000005", "none"),
            },
        ),
    )


# Kept for callers that name the Microsoft account (the traffic simulator's ad clicks).
ACCOUNT_ID = "80000011"
GOOGLE_CUSTOMER_ID = "1234567890"


def _grant(platform, redirect_uri: str, consent_url: str) -> dict:  # noqa: ANN001
    spec = platform.oauth_spec()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    consent = requests.post(
        consent_url,
        timeout=10,
        json={
            "user": AGENCY_USER,
            "redirect_uri": redirect_uri,
            "scope": " ".join(spec.scopes),
            "code_challenge": challenge.rstrip("="),
            "code_challenge_method": "S256",
            # Google: a refresh token comes only with offline access (and a fresh consent).
            "access_type": "offline",
            "prompt": "consent",
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


def _connect(workspace, owner, demo: DemoAccount) -> None:  # noqa: ANN001
    from webapp.background.enqueue import enqueue_pull
    from webapp.connections import credentials as grants
    from webapp.connections import lifecycle as connections
    from webapp.connections import oauth
    from webapp.extensions import db, platform_registry
    from webapp.models import Connection
    from webapp.push import config as push_config

    connection = db.session.scalar(
        select(Connection).where(
            Connection.workspace_id == workspace.id,
            Connection.platform_key == demo.platform_key,
            Connection.account_id == demo.account_id,
            Connection.status == Connection.ACTIVE,
        )
    )
    if connection is not None:
        return
    platform = platform_registry().get(demo.platform_key)
    if platform is None:  # switched off with SOURCELOOP_DISABLED_PLATFORMS
        return
    token = _grant(platform, oauth.callback_url(platform.key), demo.consent_url)
    credential = grants.create_pending(platform.key, workspace.id, owner.user_id, token)
    found = platform.list_accounts(grants.session_for_credential(credential.id))
    account = next(a for a in found if a.ref.account_id == demo.account_id)
    connection = connections.connect_account(owner, credential, account)
    goals = push_config.fetch_goals(connection.id)
    by_key = {g.name: g for g in goals} | {g.goal_id: g for g in goals}
    push_config.save(
        owner,
        connection,
        enabled=True,
        enhanced_conversions=True,
        default_currency="USD",
        mappings=[
            push_config.MappingInput(event, by_key[goal].goal_id, mode, "")
            for event, (goal, mode) in demo.mapping.items()
            if goal in by_key
        ],
    )
    enqueue_pull(connection.id)


def ensure_connected() -> dict[str, str]:
    from webapp.cli.demo import DEMO_WORKSPACE
    from webapp.extensions import db
    from webapp.models import Membership, Workspace

    app = _app()
    with app.test_request_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
        owner = db.session.scalar(
            select(Membership).where(
                Membership.workspace_id == workspace.id, Membership.role == "owner"
            )
        )
        for demo in accounts():
            _connect(workspace, owner, demo)
        return {
            **credentials(),
            "account_id": ACCOUNT_ID,
            "google_customer_id": GOOGLE_CUSTOMER_ID,
        }


def enqueue_attribution() -> None:
    """Ask for an attribution run of the demo workspace now (the schedule does it every 10
    minutes)."""
    from webapp.background.enqueue import enqueue_attribution
    from webapp.cli.demo import DEMO_WORKSPACE
    from webapp.extensions import db
    from webapp.models import Workspace

    app = _app()
    with app.app_context():
        workspace = db.session.scalar(select(Workspace).where(Workspace.name == DEMO_WORKSPACE))
        enqueue_attribution(workspace.id)
