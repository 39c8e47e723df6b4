"""The Troubleshoot page in a real browser (Debian Chromium): states and reasons, the state
filter, and Push now showing its progress (static job-progress.js polling the JSON status) while a
real worker process sends the backlog to the emulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_world, msads_environ, test_environ
from tests.e2e.conftest import sign_in
from tests.helpers import push as h
from tests.helpers.processes import python_process, stop
from webapp.push import send as push

pytestmark = pytest.mark.e2e


def test_troubleshoot_page_filters_and_push_now_shows_progress_until_done(
    ms_app, redis, emulator, live_server, page, _migrated, redis_url, tmp_path: Path
) -> None:
    world = make_world()
    connection_id = h.connect(ms_app, world, emulator)
    h.configure(world, connection_id, {"purchase": h.CLOSED_WON})
    ws = world.workspace_id
    h.add_conversion(ws, value="9999999999999")  # Microsoft refuses the value: failed
    h.add_conversion(ws, with_click=False)  # never eligible
    push.run(connection_id)
    backlog = [h.add_conversion(ws)[1] for _ in range(3)]  # pending for Push now

    server = live_server(ms_app)
    sign_in(page, server.url, "admin@example.com")
    page.goto(f"{server.url}/w/{ws}/setup/connections/{connection_id}")
    page.get_by_role("link", name="Troubleshoot pushing").click()
    rows = page.locator('[data-testid="conversions"] tbody tr')
    assert rows.count() == 5
    assert page.locator('tr[data-state="rejected"]').inner_text().count("code 5610") == 1
    assert "No Microsoft click id" in page.locator('tr[data-state="not_eligible"]').inner_text()
    # Arrived after the last push: not checked yet, and the page says so.
    assert page.locator('tr[data-reason="unchecked"]').count() == 3

    page.get_by_label("State").select_option("rejected")
    page.get_by_role("button", name="Filter").click()
    assert rows.count() == 1 and "state=rejected" in page.url

    env = test_environ(_migrated, redis_url, **msads_environ(emulator))
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    try:
        page.get_by_role("button", name="Push now").click()
        page.locator('[data-testid="push-progress"]').wait_for()
        # job-progress.js polls the run and reloads the page once it has finished.
        page.locator('[data-testid="push-progress"]').wait_for(state="detached", timeout=40_000)
    finally:
        stop(worker)
    page.goto(f"{server.url}/w/{ws}/setup/connections/{connection_id}/push/troubleshoot")
    assert page.locator('tr[data-state="sent"]').count() == 3
    runs = page.locator('[data-testid="runs"] tbody tr')
    assert runs.count() == 2 and "3 sent" in runs.first.inner_text()
    assert sorted(h.accepted_click_ids(emulator)) == sorted(backlog)
