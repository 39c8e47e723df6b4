"""Idempotency under concurrent duplicate posts, against a live threaded server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from tests.helpers.processes import free_port
from tests.intake.helpers import api_key, bearer
from webapp.extensions import db
from webapp.models import Conversion


def test_concurrent_duplicates_make_one_conversion(app, world) -> None:
    key = api_key(world.workspace_id)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/api/v1/conversions"
    start = threading.Barrier(16)
    single = {
        "event": "meeting_booked",
        "occurred_at": "2026-01-05T09:00:00Z",
        "email": "twin@example.com",
        "external_id": "dup-1",
    }
    batch = {"conversions": [dict(single, external_id=f"dup-b-{i}") for i in range(50)]}

    def send(i: int) -> requests.Response:
        start.wait(timeout=10)
        body = single if i % 2 else batch
        return requests.post(url, json=body, headers=bearer(key), timeout=30)

    try:
        with ThreadPoolExecutor(16) as pool:
            responses = list(pool.map(send, range(16)))
    finally:
        server.shutdown()
    singles = [r for i, r in enumerate(responses) if i % 2]
    batches = [r for i, r in enumerate(responses) if not i % 2]
    assert sorted(r.status_code for r in singles).count(201) == 1, [r.text for r in singles]
    assert all(r.status_code in (200, 201) for r in singles)
    assert len({r.json()["conversion"]["id"] for r in singles}) == 1
    assert all(r.status_code == 200 for r in batches), [r.text[:200] for r in batches]
    assert sum(r.json()["created"] for r in batches) == 50
    db.session.rollback()
    total = db.session.scalar(select(func.count()).select_from(Conversion))
    assert total == 51
