"""Setup → Tracking and Setup → API keys, and the Conversions page, as people use them."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import csrf_token
from webapp.extensions import db
from webapp.models import ApiKey, TrackingSettings


def test_tracking_tab_shows_snippet_and_admins_configure_it(login_as, world) -> None:
    admin = login_as("admin")
    page = admin.get(f"/w/{world.workspace_id}/setup/tracking/").get_data(as_text=True)
    key = db.session.get(TrackingSettings, world.workspace_id).public_key
    assert key in page and "/t.js" in page and "Waiting" in page
    assert all(name in page for name in ("form_submitted", "meeting_booked", "payment_received"))
    token = csrf_token(admin, f"/w/{world.workspace_id}/setup/tracking/")
    base = f"/w/{world.workspace_id}/setup/tracking"
    saved = admin.post(
        f"{base}/domains",
        data={
            "domains": "https://Shop.Example.com/\nexample.org",
            "csrf_token": token,
        },
    )
    assert saved.status_code == 303
    # Each setting is its own card and form: saving domains leaves form tracking alone.
    assert admin.post(f"{base}/forms", data={"forms": "1", "csrf_token": token}).status_code == 303
    admin.post(
        f"{base}/domains", data={"domains": "shop.example.com\nexample.org", "csrf_token": token}
    )
    settings = db.session.get(TrackingSettings, world.workspace_id)
    db.session.refresh(settings)
    assert (
        settings.allowed_domains == ["shop.example.com", "example.org"]
        and settings.auto_track_forms
    )
    assert 'data-testid="allowed-domains"' in page and 'data-testid="form-tracking"' in page
    assert '<pre><code id="pixel-snippet"' in page and 'data-testid="copy-snippet"' in page
    bad = admin.post(
        f"{base}/domains",
        data={"domains": "not a domain!", "csrf_token": token},
        follow_redirects=True,
    )
    assert "is not a domain name" in bad.get_data(as_text=True)
    admin.post(f"{base}/events", data={"name": "trial_started", "csrf_token": token})
    page = admin.get(f"{base}/").get_data(as_text=True)
    assert "trial_started" in page and 'data-forms="auto"' in page


def test_members_read_but_cannot_change_tracking_or_keys(login_as, world) -> None:
    member = login_as("member")
    page = member.get(f"/w/{world.workspace_id}/setup/tracking/").get_data(as_text=True)
    assert "Your role does not allow this." in page and "New key" not in page
    assert "Add event" not in page
    keys_page = member.get(f"/w/{world.workspace_id}/setup/api-keys/").get_data(as_text=True)
    assert "Create key" not in keys_page


def test_api_key_is_shown_once_and_can_be_revoked(login_as, world) -> None:
    owner = login_as("owner")
    base = f"/w/{world.workspace_id}/setup/api-keys/"
    token = csrf_token(owner, base)
    created = owner.post(base, data={"name": "HubSpot", "csrf_token": token}).get_data(as_text=True)
    row = db.session.scalar(select(ApiKey))
    shown = created.split('aria-label="New API key"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert shown.startswith("sl_live_") and row.key_hash != shown
    assert shown not in owner.get(base).get_data(as_text=True)  # only once
    owner.post(f"{base}{row.id}/revoke", data={"csrf_token": token})
    db.session.refresh(row)
    assert row.revoked_at is not None


def test_conversions_page_lists_and_filters(login_as, world) -> None:
    from tests.intake.helpers import api_key, bearer

    owner = login_as("owner")
    key = api_key(world.workspace_id)
    for ext, event in (("c-1", "form_submitted"), ("c-2", "meeting_booked")):
        owner.post(
            "/api/v1/conversions",
            json={
                "event": event,
                "occurred_at": "2026-01-02T10:00:00Z",
                "msclkid": "click-" + ext,
                "external_id": ext,
            },
            headers=bearer(key),
        )
    page = owner.get(f"/w/{world.workspace_id}/conversions/").get_data(as_text=True)
    assert "c-1" in page and "c-2" in page and "click-c-1" in page
    filtered = owner.get(f"/w/{world.workspace_id}/conversions/?event=meeting_booked").get_data(
        as_text=True
    )
    assert "c-2" in filtered and 'data-external-id="c-1"' not in filtered
    by_click = owner.get(f"/w/{world.workspace_id}/conversions/?q=click-c-1").get_data(as_text=True)
    assert 'data-external-id="c-1"' in by_click and 'data-external-id="c-2"' not in by_click
