"""Browser fixtures: the app served on a free loopback port, and Debian's Chromium via Playwright.

``live_server(app)`` serves any app the test built (``app`` or ``ms_app``) in a thread with
werkzeug; the database is the test's, so data made by fixtures is visible to the browser.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import PASSWORD
from tests.helpers.processes import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server() -> Iterator[Callable[[Flask], LiveServer]]:
    servers = []

    def serve(app: Flask, port: int | None = None) -> LiveServer:
        port = port or free_port()
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append(server)
        return LiveServer(f"http://127.0.0.1:{port}", app)

    yield serve
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def browser():
    import os

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
