"""Every route × {anonymous, member, admin, owner, admin of another workspace} → expected status.

``test_every_route_is_in_the_matrix`` fails when a route is added without a row here, so access
rules cannot be forgotten for new pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask

from tests.conftest import csrf_token

ROLES = ("anonymous", "member", "admin", "owner", "other_admin")


@dataclass(frozen=True)
class Row:
    endpoint: str
    method: str
    path: str  # {ws}, {member_mid}, {invite_id}, {platform} are filled per test
    expect: tuple[int, int, int, int, int]  # in ROLES order
    data: tuple[tuple[str, str], ...] = ()


LOGIN = 302
MATRIX: tuple[Row, ...] = (
    Row("auth.login", "GET", "/login", (200, 302, 302, 302, 302)),
    Row("auth.logout", "POST", "/logout", (LOGIN, 302, 302, 302, 302)),
    Row("auth.accept_invite", "GET", "/invite/not-a-real-token", (404, 404, 404, 404, 404)),
    Row("home.index", "GET", "/", (LOGIN, 302, 302, 302, 302)),
    Row("health.healthz", "GET", "/healthz", (200, 200, 200, 200, 200)),
    Row("dashboard.index", "GET", "/w/{ws}/", (LOGIN, 200, 200, 200, 404)),
    Row("platforms.setup_index", "GET", "/w/{ws}/setup/", (LOGIN, 302, 302, 302, 404)),
    Row("platforms.index", "GET", "/w/{ws}/setup/platforms", (LOGIN, 200, 200, 200, 404)),
    Row(
        "platforms.connect",
        "POST",
        "/w/{ws}/setup/platforms/{platform}/connect",
        (LOGIN, 403, 302, 302, 404),
    ),
    Row(
        "platforms.accounts",
        "GET",
        "/w/{ws}/setup/platforms/{platform}/accounts?grant=999999",
        (LOGIN, 403, 404, 404, 404),
    ),
    Row(
        "platforms.connection",
        "GET",
        "/w/{ws}/setup/connections/{connection_id}",
        (LOGIN, 200, 200, 200, 404),
    ),
    Row(
        "platforms.disconnect",
        "POST",
        "/w/{ws}/setup/connections/{connection_id}/disconnect",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row(
        "platforms.reset",
        "POST",
        "/w/{ws}/setup/connections/{connection_id}/reset",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row(
        "oauth.callback",
        "GET",
        "/setup/platforms/{platform}/callback?state=forged&code=x",
        (LOGIN, 302, 302, 302, 302),
    ),
    Row(
        "platforms.enable_auto_tagging",
        "POST",
        "/w/{ws}/setup/connections/{connection_id}/auto-tagging",
        (LOGIN, 403, 400, 400, 404),
    ),
    Row(  # the matrix's connection is of a platform without a real-time path
        "platforms.realtime",
        "POST",
        "/w/{ws}/setup/connections/{connection_id}/realtime",
        (LOGIN, 403, 404, 404, 404),
    ),
    Row("job_status.show", "GET", "/w/{ws}/jobs/{run_id}", (LOGIN, 200, 200, 200, 404)),
    Row("members.index", "GET", "/w/{ws}/setup/members/", (LOGIN, 200, 200, 200, 404)),
    Row("insights.index", "GET", "/w/{ws}/insights/", (LOGIN, 200, 200, 200, 404)),
    Row(
        "insights.sync_now",
        "POST",
        "/w/{ws}/insights/sync/{connection_id}",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row("api_insights.insights", "GET", "/api/v1/insights", (401, 401, 401, 401, 401)),
    Row("api_insights.figures_api", "GET", "/api/v1/figures", (401, 401, 401, 401, 401)),
    Row(
        "members.invite",
        "POST",
        "/w/{ws}/setup/members/invite",
        (LOGIN, 403, 200, 200, 404),
        (("email", "new.person@example.com"), ("role", "member")),
    ),
    Row(
        "members.change_role",
        "POST",
        "/w/{ws}/setup/members/{member_mid}/role",
        (LOGIN, 403, 303, 303, 404),
        (("role", "admin"),),
    ),
    Row(
        "members.remove",
        "POST",
        "/w/{ws}/setup/members/{member_mid}/remove",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row(
        "members.revoke_invite",
        "POST",
        "/w/{ws}/setup/members/invites/{invite_id}/revoke",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row("workspace.index", "GET", "/w/{ws}/setup/workspace/", (LOGIN, 200, 200, 200, 404)),
    Row("alerts.index", "GET", "/w/{ws}/alerts/", (LOGIN, 200, 200, 200, 404)),
    Row(
        "alerts.save_settings",
        "POST",
        "/w/{ws}/alerts/settings",
        (LOGIN, 403, 303, 303, 404),
        (("match_rate_threshold", "40"),),
    ),
    Row(
        "alerts.opt_out",
        "POST",
        "/w/{ws}/alerts/opt-out",
        (LOGIN, 303, 303, 303, 404),
        (("opt_out", "y"),),
    ),
    Row(
        "workspace.rename",
        "POST",
        "/w/{ws}/setup/workspace/rename",
        (LOGIN, 403, 303, 303, 404),
        (("name", "Acme Renamed"),),
    ),
    Row(
        "workspace.currency",
        "POST",
        "/w/{ws}/setup/workspace/currency",
        (LOGIN, 403, 303, 303, 404),
        (("currency", "EUR"),),
    ),
    Row(
        "workspace.delete",
        "POST",
        "/w/{ws}/setup/workspace/delete",
        (LOGIN, 403, 403, 303, 404),
        (("confirm_name", "Acme"),),
    ),
    # Intake (issue 5): the pixel, the API and webhooks answer everyone the same way; a signed-in
    # session never authorizes the API (only a Bearer key does).
    Row("pixel.script", "GET", "/t.js", (200, 200, 200, 200, 200)),
    Row("pixel.collect_hit", "POST", "/collect", (400, 400, 400, 400, 400)),
    Row("pixel.browser_tags", "GET", "/t/tags.js?k=pk_nope", (404, 404, 404, 404, 404)),
    Row("api.create_conversions", "POST", "/api/v1/conversions", (401, 401, 401, 401, 401)),
    Row(
        "api.get_conversions", "GET", "/api/v1/conversions?external_id=x", (401, 401, 401, 401, 401)
    ),
    Row(
        "api_connections.list_connections", "GET", "/api/v1/connections", (401, 401, 401, 401, 401)
    ),
    Row("api_privacy.erase", "POST", "/api/v1/privacy/erase", (401, 401, 401, 401, 401)),
    Row(
        "api_privacy.export",
        "GET",
        "/api/v1/privacy/export?email=a@example.com",
        (401, 401, 401, 401, 401),
    ),
    Row("webhooks.stripe", "POST", "/webhooks/stripe/pk_nope", (404, 404, 404, 404, 404)),
    Row("tracking.index", "GET", "/w/{ws}/setup/tracking/", (LOGIN, 200, 200, 200, 404)),
    Row(
        "tracking.domains",
        "POST",
        "/w/{ws}/setup/tracking/domains",
        (LOGIN, 403, 303, 303, 404),
        (("domains", "example.com"),),
    ),
    Row(
        "tracking.consent",
        "POST",
        "/w/{ws}/setup/tracking/consent",
        (LOGIN, 403, 303, 303, 404),
        (("required", "1"),),
    ),
    Row(
        "tracking.forms",
        "POST",
        "/w/{ws}/setup/tracking/forms",
        (LOGIN, 403, 303, 303, 404),
        (("forms", "1"),),
    ),
    Row(
        "tracking.rotate_key",
        "POST",
        "/w/{ws}/setup/tracking/rotate-key",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row(
        "tracking.add_event",
        "POST",
        "/w/{ws}/setup/tracking/events",
        (LOGIN, 403, 303, 303, 404),
        (("name", "trial_started"),),
    ),
    Row(
        "tracking.remove_event",
        "POST",
        "/w/{ws}/setup/tracking/events/{event_id}/remove",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row(
        "tracking.phone_region",
        "POST",
        "/w/{ws}/setup/tracking/phone-region",
        (LOGIN, 403, 303, 303, 404),
        (("region", "GB"),),
    ),
    Row(
        "tracking.stripe_secret",
        "POST",
        "/w/{ws}/setup/tracking/stripe",
        (LOGIN, 403, 303, 303, 404),
        (("secret", "whsec_abcdefgh12345"),),
    ),
    Row("privacy.index", "GET", "/w/{ws}/setup/privacy/", (LOGIN, 200, 200, 200, 404)),
    Row(
        "privacy.retention_limits",
        "POST",
        "/w/{ws}/setup/privacy/retention",
        (LOGIN, 403, 303, 303, 404),
        (("pageview_days", "200"), ("conversion_days", "700")),
    ),
    Row(
        "privacy.export",
        "POST",
        "/w/{ws}/setup/privacy/export",
        (LOGIN, 403, 200, 200, 404),
        (("kind", "email"), ("value", "a@example.com")),
    ),
    Row(
        "privacy.erase",
        "POST",
        "/w/{ws}/setup/privacy/erase",
        (LOGIN, 403, 303, 303, 404),
        (("kind", "email"), ("value", "a@example.com")),
    ),
    Row("apikeys.index", "GET", "/w/{ws}/setup/api-keys/", (LOGIN, 200, 200, 200, 404)),
    Row(
        "apikeys.create",
        "POST",
        "/w/{ws}/setup/api-keys/",
        (LOGIN, 403, 200, 200, 404),
        (("name", "CRM"),),
    ),
    Row(
        "apikeys.revoke",
        "POST",
        "/w/{ws}/setup/api-keys/{api_key_id}/revoke",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row("conversions.index", "GET", "/w/{ws}/conversions/", (LOGIN, 200, 200, 200, 404)),
    Row(
        "conversions.detail",
        "GET",
        "/w/{ws}/conversions/{conversion_id}",
        (LOGIN, 200, 200, 200, 404),
    ),
    # Push (issue 6): Configure is Admin/Owner; everyone sees Troubleshoot; buttons need RUN_JOBS.
    Row(
        "push.configure",
        "GET",
        "/w/{ws}/setup/connections/{connection_id}/push/configure",
        (LOGIN, 403, 200, 200, 404),
    ),
    Row(
        "push.troubleshoot",
        "GET",
        "/w/{ws}/setup/connections/{connection_id}/push/troubleshoot",
        (LOGIN, 200, 200, 200, 404),
    ),
    Row(
        "push.troubleshoot_csv",
        "GET",
        "/w/{ws}/setup/connections/{connection_id}/push/troubleshoot.csv",
        (LOGIN, 200, 200, 200, 404),
    ),
    Row(
        "push.push_now",
        "POST",
        "/w/{ws}/setup/connections/{connection_id}/push/push-now",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row(
        "push.retry_failed",
        "POST",
        "/w/{ws}/setup/connections/{connection_id}/push/retry-failed",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row(
        "push.dry_run",
        "POST",
        "/w/{ws}/setup/connections/{connection_id}/push/dry-run",
        (LOGIN, 403, 303, 303, 404),
    ),
    Row("attribution.index", "GET", "/w/{ws}/attribution/", (LOGIN, 200, 200, 200, 404)),
    Row(
        "attribution.journey",
        "GET",
        "/w/{ws}/attribution/conversions/999999",
        (LOGIN, 404, 404, 404, 404),
    ),
    Row("attribution.settings", "GET", "/w/{ws}/attribution/settings", (LOGIN, 200, 200, 200, 404)),
    Row(
        "attribution.save_settings",
        "POST",
        "/w/{ws}/attribution/settings",
        (LOGIN, 403, 303, 303, 404),
        (("lookback_days", "60"), ("half_life_days", "7"), ("external_model", "linear")),
    ),
)


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    covered = {row.endpoint for row in MATRIX}
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    missing = routes - covered
    assert not missing, f"routes without access expectations: {sorted(missing)}"


@pytest.fixture
def pending_invite_id(world) -> int:
    from webapp.accounts.members import create_invite
    from webapp.extensions import db
    from webapp.models import Membership

    owner = db.session.get(Membership, world.memberships["owner"])
    invite, _ = create_invite(world.workspace_id, owner, "pending@example.com", "member")
    return invite.id


@pytest.fixture
def fake_connection_id(world) -> int:
    from webapp.extensions import db
    from webapp.models import Connection

    connection = Connection(
        workspace_id=world.workspace_id,
        platform_key="fake",
        account_id="901",
        account_name="Fake Shop",
    )
    db.session.add(connection)
    db.session.commit()
    return connection.id


@pytest.fixture
def job_run_id(world) -> int:
    from webapp.background.job_runs import create_queued

    return create_queued("test", rq_job_id=None, workspace_id=world.workspace_id)


@pytest.fixture
def intake_ids(world) -> dict[str, int]:
    """A custom conversion event, an API key and a conversion in the main workspace."""
    from datetime import UTC, datetime

    from webapp.accounts import api_keys
    from webapp.extensions import db
    from webapp.intake import tracking
    from webapp.models import Conversion, ConversionEvent

    tracking.settings_for(world.workspace_id)
    event = ConversionEvent(workspace_id=world.workspace_id, name="demo_booked", label="Demo")
    conversion = Conversion(
        workspace_id=world.workspace_id,
        event="form_submitted",
        occurred_at=datetime.now(UTC),
        source="api",
        external_id="matrix-1",
    )
    db.session.add_all([event, conversion])
    db.session.commit()
    key, _ = api_keys.create(world.workspace_id, "Matrix")
    return {"event_id": event.id, "api_key_id": key.id, "conversion_id": conversion.id}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda r: f"{r.method} {r.endpoint}")
def test_access(
    row: Row,
    role: str,
    login_as,
    world,
    pending_invite_id,
    fake_connection_id,
    job_run_id,
    intake_ids,
) -> None:
    client = login_as(None if role == "anonymous" else role)
    path = row.path.format(
        ws=world.workspace_id,
        member_mid=world.memberships["member"],
        invite_id=pending_invite_id,
        platform="fake",
        connection_id=fake_connection_id,
        run_id=job_run_id,
        **intake_ids,
    )
    if row.method == "GET":
        response = client.get(path)
    else:
        data = dict(row.data)
        data["csrf_token"] = csrf_token(client, "/login" if role == "anonymous" else "/")
        response = client.post(path, data=data)
    expected = row.expect[ROLES.index(role)]
    assert response.status_code == expected, (
        f"{row.method} {path} as {role}: {response.status_code} "
        f"{response.get_data(as_text=True)[:300]}"
    )
    if expected == LOGIN and role == "anonymous":
        assert "/login" in response.location
