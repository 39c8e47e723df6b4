"""The production web server, for real: gunicorn with ``gunicorn.conf.py`` refuses a huge chunked
webhook body after reading at most the limit (issue 15, defect 1) and keeps OAuth codes out of
its access log (defect 7)."""

from __future__ import annotations

import select
import socket
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import test_environ
from tests.helpers.processes import free_port, port_open, python_process, stop, wait_for

pytestmark = pytest.mark.e2e

SECRET = "whsec_gunicorn_test_0123456789"


@pytest.fixture
def server(app, world, _migrated: str, redis_url: str, tmp_path: Path):
    from webapp.extensions import db
    from webapp.models import Membership
    from webapp.services import tracking

    owner = db.session.get(Membership, world.memberships["owner"])
    tracking.set_stripe_secret(world.workspace_id, owner, SECRET)
    key = tracking.settings_for(world.workspace_id).public_key
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = test_environ(
        _migrated,
        redis_url,
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
    )
    process = python_process(["-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], env, log)
    try:
        wait_for(lambda: port_open(port), timeout=60, what="gunicorn")
        yield port, key, log
    finally:
        stop(process)


def _send_chunked(port: int, path: str, total: int) -> tuple[int, int]:
    """POST ``total`` bytes chunked; → (status, bytes sent before the server answered)."""
    chunk = b"x" * (256 * 1024)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            "Content-Type: application/json\r\nStripe-Signature: t=1,v1=junk\r\n\r\n".encode()
        )
        answer = b""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                answer = sock.recv(4096)
                break
            if sent >= total:
                sock.sendall(b"0\r\n\r\n")
                answer = sock.recv(4096)
                break
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                answer = sock.recv(4096)
                break
            sent += len(chunk)
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, sent


def test_huge_chunked_webhook_is_refused_early_and_codes_stay_out_of_the_log(server) -> None:
    port, key, log = server
    status, sent = _send_chunked(port, f"/webhooks/stripe/{key}", 400 * 1024 * 1024)
    assert status == 413
    assert sent < 64 * 1024 * 1024, f"the server let {sent} bytes in before refusing"

    secret_code = "M.C507_BAY.2.U.fake-authorization-code"
    response = requests.get(
        f"http://127.0.0.1:{port}/setup/platforms/microsoft_ads/callback",
        params={"code": secret_code, "state": "state-value-xyz"},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    wait_for(lambda: "callback?[query]" in log.read_text(), timeout=10, what="the access log line")
    text = log.read_text()
    assert secret_code not in text and "state-value-xyz" not in text
