"""The seam holds: a plugin outside ``platforms/``, installed through the entry point, passes the
contract suite against its own emulator and shows its card, with no change to webapp/ or jobs/."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from werkzeug.serving import make_server

from platforms.base import AccountRef
from tests.helpers.processes import free_port
from tests.platforms.contract import PlatformContract
from tests.plugins.example_ads.emulator import create_app as create_emulator
from tests.plugins.example_ads.plugin import ExampleAdsPlatform

ROOT = Path(__file__).resolve().parents[2]
REDIRECT = "http://127.0.0.1:5000/setup/platforms/example_ads/callback"


@pytest.fixture(scope="module")
def example_url() -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, create_emulator(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


class TestExampleAdsContract(PlatformContract):
    @pytest.fixture
    def platform(self, example_url: str) -> ExampleAdsPlatform:
        return ExampleAdsPlatform({"EXAMPLE_ADS_URL": example_url})

    @pytest.fixture
    def session(self, platform: ExampleAdsPlatform, example_url: str) -> OAuth2Session:
        spec = platform.oauth_spec()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        code = requests.post(
            f"{example_url}/oauth/consent",
            timeout=10,
            json={"code_challenge": challenge.decode().rstrip("=")},
        ).json()["code"]
        session = OAuth2Session(spec.client_id, spec.client_secret, redirect_uri=REDIRECT)
        session.fetch_token(spec.token_url, code=code, code_verifier=verifier)
        return session

    @pytest.fixture
    def account(self) -> AccountRef:
        return AccountRef("E-101")


def _install_entry_point(site: Path) -> None:
    """What ``pip install`` of a package declaring the entry point leaves on sys.path."""
    dist = site / "sourceloop_example_ads-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: sourceloop-example-ads\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[sourceloop.platforms]\nexample_ads = tests.plugins.example_ads.plugin:ExampleAdsPlatform\n"
    )


def test_installed_plugin_appears_on_ad_platforms(tmp_path: Path, redis_url: str) -> None:
    site = tmp_path / "site"
    _install_entry_point(site)
    script = textwrap.dedent(f"""
        import re
        from flask_migrate import upgrade
        from webapp.cli.db import bind_migrate
        from config import load_settings
        from webapp.factory import create_app
        from webapp.policy import Role
        from webapp.services.accounts import bootstrap_user
        settings = load_settings({{"SOURCELOOP_ENV": "testing", "REDIS_URL": {redis_url!r},
            "DATABASE_URL": "sqlite:///{tmp_path}/app.db", "LOGIN_RATE_LIMIT": "100 per minute"}})
        app = create_app(settings, overrides={{"WTF_CSRF_ENABLED": False}})
        bind_migrate(app)
        with app.app_context():
            upgrade()
            bootstrap_user("o@example.com", "Corr3ct-horse-battery", "Acme", Role.OWNER)
        client = app.test_client()
        client.post("/login", data={{"email": "o@example.com",
                                     "password": "Corr3ct-horse-battery"}})
        html = client.get("/w/1/setup/platforms").get_data(as_text=True)
        print("KEYS", sorted(app.extensions["platforms"].keys()))
        print("CARD", 'data-platform="example_ads"' in html and "Example Ads" in html)
    """)
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "CARD True" in out.stdout, out.stderr[-2000:]
    assert "'example_ads'" in out.stdout and "'microsoft_ads'" in out.stdout


def test_host_code_never_names_the_plugin() -> None:
    for folder in ("webapp", "jobs"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".html", ".js"}:
                assert "example_ads" not in path.read_text(), path
