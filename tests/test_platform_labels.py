"""Pages show a platform's enum values in its own words, never the raw enum (issue 12, item 10)."""

from __future__ import annotations

import pytest

import tests.helpers.push as h
from tests.conftest import client_as, make_world
from webapp.extensions import db
from webapp.models import Connection


@pytest.fixture
def world(ms_app):
    return make_world()


def test_connection_page_shows_the_time_zone_in_words(ms_app, world, emulator) -> None:
    connection_id = h.connect(ms_app, world, emulator)
    connection = db.session.get(Connection, connection_id)
    connection.time_zone = "PacificTimeUSCanadaTijuana"
    db.session.commit()
    html = (
        client_as(ms_app, "member")
        .get(f"/w/{world.workspace_id}/setup/connections/{connection_id}")
        .get_data(as_text=True)
    )
    cell = html.split('data-testid="time-zone">')[1].split("</span>")[0]
    assert cell == "Pacific Time (US &amp; Canada), Tijuana"
    assert "PacificTimeUSCanadaTijuana" not in html


def test_an_unknown_platform_shows_the_value_itself(app) -> None:
    from webapp.views.nav import platform_label

    assert platform_label("not_installed", "time_zone", "Somewhere") == "Somewhere"


def test_tracking_page_documents_the_final_url_suffix(ms_app, world) -> None:
    html = (
        client_as(ms_app, "member")
        .get(f"/w/{world.workspace_id}/setup/tracking/")
        .get_data(as_text=True)
    )
    assert 'data-testid="campaign-tagging"' in html
    assert "utm_id={CampaignId}" in html and "utm_campaign" in html
