"""Caching and logs (issue 15, defect 7): signed-in pages and API answers are never stored by a
cache; OAuth codes and invite tokens stay out of the access log."""

from __future__ import annotations

import datetime as dt
import logging
import re
from types import SimpleNamespace

from tests.conftest import csrf_token
from tests.intake.helpers import api_key, bearer


def test_the_page_showing_a_new_invite_link_is_not_cached(login_as, world) -> None:
    owner = login_as("owner")
    response = owner.post(
        f"/w/{world.workspace_id}/setup/members/invite",
        data={
            "email": "new@example.com",
            "role": "member",
            "csrf_token": csrf_token(owner, f"/w/{world.workspace_id}/setup/members/"),
        },
    )
    assert "/invite/" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_the_page_showing_a_new_api_key_is_not_cached(login_as, world) -> None:
    owner = login_as("owner")
    page = f"/w/{world.workspace_id}/setup/api-keys/"
    response = owner.post(
        page, data={"name": "CRM", "csrf_token": csrf_token(owner, page)}, follow_redirects=True
    )
    assert "sl_live_" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_every_signed_in_page_and_api_answer_is_no_store(login_as, world, client) -> None:
    member = login_as("member")
    for path in ("/", f"/w/{world.workspace_id}/", f"/w/{world.workspace_id}/conversions/"):
        response = member.get(path, follow_redirects=True)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-store", path
    key = api_key(world.workspace_id)
    answer = client.get("/api/v1/conversions?external_id=nope", headers=bearer(key))
    assert answer.status_code == 404 and answer.headers["Cache-Control"] == "no-store"
    # Chosen caching stays: the pixel script is public and cacheable.
    assert "max-age=3600" in client.get("/t.js").headers["Cache-Control"]


def _access_line(raw_uri: str, referer: str = "-", ua: str = "-") -> str:
    from gunicorn.config import Config

    from webapp.access_log import ScrubbingLogger

    config = Config()
    config.set("accesslog", "-")
    logger = ScrubbingLogger(config)
    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger.access_log.addHandler(Capture())
    path, _, query = raw_uri.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": ua,
        "REMOTE_ADDR": "203.0.113.7",
    }
    response = SimpleNamespace(status="302 FOUND", sent=0, headers=[])
    logger.access(response, SimpleNamespace(headers=[]), environ, dt.timedelta(milliseconds=5))
    assert records
    return records[-1]


def test_oauth_callback_codes_do_not_reach_the_access_log() -> None:
    line = _access_line(
        "/setup/platforms/microsoft_ads/callback?code=M.C507_SECRET-CODE&state=s3cr3t-state",
        referer="https://sourceloop.example/setup/platforms/x/callback?code=OTHER-SECRET",
    )
    assert "SECRET-CODE" not in line and "s3cr3t-state" not in line and "OTHER-SECRET" not in line
    assert "/setup/platforms/microsoft_ads/callback?[query]" in line
    assert re.search(r'" 302 ', line)


def test_invite_tokens_do_not_reach_the_access_log() -> None:
    line = _access_line("/invite/Zk3v9-secret-token_AbC")
    assert "secret-token" not in line and "/invite/[token]" in line


def test_gunicorn_uses_the_scrubbing_logger(repo_root) -> None:
    import runpy

    config = runpy.run_path(str(repo_root / "gunicorn.conf.py"))
    assert config["logger_class"] == "webapp.access_log.ScrubbingLogger"


def test_site_visitors_address_and_browser_do_not_reach_the_access_log() -> None:
    ua = "Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0"
    for path in ("/collect?k=pk_x", "/t.js"):
        line = _access_line(path, ua=ua)
        assert "203.0.113.7" not in line and "Chrome" not in line, line
    admin = _access_line("/w/1/setup/", ua=ua)
    assert "203.0.113.7" in admin  # the app's own users are still logged for security
