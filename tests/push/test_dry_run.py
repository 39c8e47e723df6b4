"""The generic dry run (capability ``dry_run``) through the host, with the Google Ads plugin and
the Google emulator process: the Troubleshoot button, the job, the answer on the page, the
ledger untouched, and no button for a platform without the capability."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import client_as, csrf_token, make_world
from tests.connections.test_connect_google_ads import connect
from tests.helpers.google_ads import CLOSED_WON, US, add_conversion, configure, received
from webapp.extensions import db
from webapp.models import Connection, ConversionDelivery, JobRun
from webapp.models.types import utcnow
from webapp.push import send as push

D = ConversionDelivery


@pytest.fixture
def world(gads_app, redis):
    return make_world()


def test_dry_run_asks_google_to_validate_and_changes_nothing(
    gads_app, world, google_emulator, burst_worker
) -> None:
    from webapp.push import config as push_config
    from webapp.push import ledger as push_ledger

    connection_id = connect(gads_app, world, google_emulator, US)
    configure(world, connection_id, {"purchase": CLOSED_WON})
    burst_worker()  # the checks and the push that connecting queued, with nothing to send yet
    add_conversion(world, "Cj0KCQiA-dry-run-good-0001")
    add_conversion(world, "Cj0KCQiA-dry-run-bad-0002", currency="ZZZ")
    connection = db.session.get(Connection, connection_id)
    push_ledger.plan(
        connection,
        push_config.config_for(connection_id),
        push_config.mappings_for(connection_id),
        push_config.goal_facts(connection_id),
        platform=push_config.platform_for(connection),
        now=utcnow(),
    )
    db.session.commit()
    before = {r.id: (r.status, r.attempts) for r in db.session.scalars(select(D))}
    assert len(before) == 2

    answer = push.dry_run(connection_id)

    assert "Dry run of 2 conversion(s) at Google Ads: 1 would be accepted, 1 refused." in answer
    assert "INVALID_CURRENCY_CODE" in answer
    assert answer.count("three-letter ISO code") == 1  # Google's words once, not nested
    db.session.expire_all()
    assert {r.id: (r.status, r.attempts) for r in db.session.scalars(select(D))} == before
    assert received(google_emulator) == []  # validated, nothing ingested

    # Troubleshoot: the button runs it as a job and the page shows the answer.
    admin = client_as(gads_app, "admin")
    page = f"/w/{world.workspace_id}/setup/connections/{connection_id}/push/troubleshoot"
    assert 'data-testid="dry-run"' in admin.get(page).get_data(as_text=True)
    response = admin.post(
        page.replace("troubleshoot", "dry-run"), data={"csrf_token": csrf_token(admin, page)}
    )
    assert response.status_code == 303
    burst_worker()
    run = db.session.scalar(select(JobRun).where(JobRun.kind == "dry_run"))
    assert run.status == JobRun.SUCCEEDED and "1 would be accepted" in run.message
    html = admin.get(page).get_data(as_text=True)
    assert 'data-testid="dry-run-result"' in html and "1 would be accepted" in html


def test_no_dry_run_button_without_the_capability(gads_app, world) -> None:
    connection = Connection(workspace_id=world.workspace_id, platform_key="fake", account_id="901")
    db.session.add(connection)
    db.session.commit()
    admin = client_as(gads_app, "admin")
    page = f"/w/{world.workspace_id}/setup/connections/{connection.id}/push/troubleshoot"
    assert 'data-testid="dry-run"' not in admin.get(page).get_data(as_text=True)
    assert push.dry_run(connection.id) == "Fake Ads offers no dry run."
