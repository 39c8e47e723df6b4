"""The real process: ``python -m platforms.microsoft_ads.emulator`` on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from .conftest import ADS_SCOPE, AGENCY_USER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, pkce_pair

REPO = Path(__file__).resolve().parents[4]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def emulator_url() -> Iterator[str]:
    port = _free_port()
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "platforms.microsoft_ads.emulator", "--host", "127.0.0.1",
         "--port", str(port), "--quiet"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "EMULATOR_ACCESS_TOKEN_TTL": "1234"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                requests.get(f"{url}/_emulator/state", timeout=0.5)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, "emulator exited"
                assert time.monotonic() - started < 5, "emulator did not start"
                time.sleep(0.05)
        assert time.monotonic() - started < 2.5  # "quick to start"
        yield url
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)


@pytest.mark.e2e
def test_real_process_oauth_api_and_dropped_connection(emulator_url: str) -> None:
    verifier, challenge = pkce_pair()
    consent = requests.post(f"{emulator_url}/_emulator/consent", json={
        "user": "alex@fabrikam-agency.example", "redirect_uri": REDIRECT_URI,
        "scope": f"{ADS_SCOPE} offline_access", "code_challenge": challenge,
        "code_challenge_method": "S256", "state": "s1"}, timeout=5).json()  # fmt: skip
    assert consent["redirect_url"].endswith("&state=s1")
    token = requests.post(f"{emulator_url}/common/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "code": consent["code"], "redirect_uri": REDIRECT_URI, "code_verifier": verifier,
        "scope": f"{ADS_SCOPE} offline_access"}, timeout=5).json()  # fmt: skip
    assert token["expires_in"] == 1234  # EMULATOR_ACCESS_TOKEN_TTL is honoured
    headers = {"Authorization": f"Bearer {token['access_token']}", "DeveloperToken": "BBD37VB98"}
    user = requests.post(
        f"{emulator_url}/CustomerManagement/v13/User/Query", json={}, headers=headers, timeout=5
    )
    assert user.status_code == 200 and user.json()["User"]["Id"] == AGENCY_USER
    assert user.headers["TrackingId"]
    requests.post(
        f"{emulator_url}/_emulator/faults", json={"operation": "GetUser", "kind": "drop"}, timeout=5
    )
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{emulator_url}/CustomerManagement/v13/User/Query", json={}, headers=headers, timeout=5
        )
    again = requests.post(
        f"{emulator_url}/CustomerManagement/v13/User/Query", json={}, headers=headers, timeout=5
    )
    assert again.status_code == 200
    landing = requests.get(f"{emulator_url}/_emulator/click", params={
        "account_id": "80000011", "landing": "https://shop.example/"}, allow_redirects=False, timeout=5)  # fmt: skip
    assert landing.status_code == 302 and "msclkid=" in landing.headers["Location"]
