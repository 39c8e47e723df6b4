"""The README's first command: the demo comes up with both platforms connected, pushes
conversions to Microsoft and Google, pulls both platforms' insights, and stops cleanly on Ctrl-C —
checked only through HTTP and the operator's `flask` commands, as a newcomer would see it."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from tests.helpers.processes import free_port, port_open, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def _json(url: str, **kwargs: object) -> dict:
    try:
        response = requests.get(url, timeout=5, **kwargs)
        return response.json() if response.ok else {}
    except (requests.RequestException, ValueError):
        return {}


def test_demo_pushes_pulls_and_stops_cleanly(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("WEB", "EMULATOR", "GOOGLE_EMULATOR", "SITE", "REDIS")}
    env = {
        **os.environ,
        **{f"DEMO_{name}_PORT": str(port) for name, port in ports.items()},
        "DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
        "DEMO_CREDENTIALS": str(tmp_path / "demo-credentials.json"),
        "DEMO_ENV_FILE": str(tmp_path / "demo.env"),
        # Google processes an ingested event after a while; the demo's minute becomes seconds.
        "GOOGLE_EMULATOR_PROCESSING_DELAY_SECONDS": "5",
    }
    web = f"http://127.0.0.1:{ports['WEB']}"
    emulator = f"http://127.0.0.1:{ports['EMULATOR']}"
    google = f"http://127.0.0.1:{ports['GOOGLE_EMULATOR']}"
    log_path = tmp_path / "demo.log"
    with open(log_path, "wb") as log:
        demo = subprocess.Popen(
            ["bash", "scripts/demo"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(
            lambda: _json(f"{web}/healthz").get("status") == "ok",
            timeout=180,
            interval=1,
            what="the demo's web process",
        )
        output = log_path.read_text()
        creds = json.loads((tmp_path / "demo-credentials.json").read_text())
        assert re.search(rf"Email\s+{re.escape(creds['email'])}", output)
        assert re.search(rf"Password\s+{re.escape(creds['password'])}", output)

        # Pushed: the emulated Microsoft received offline conversions from the push job.
        def accepted() -> list:
            rows = _json(f"{emulator}/_emulator/conversions").get("conversions", [])
            return [row for row in rows if row.get("Status") == "Accepted"]

        wait_for(
            lambda: len(accepted()) > 0,
            timeout=240,
            interval=3,
            what="conversions pushed to and accepted by the emulator",
        )
        requests_sent = [row["Request"] for row in accepted()]
        assert all(r.get("MicrosoftClickId") or r.get("HashedEmailAddress") for r in requests_sent)
        wait_for(
            lambda: any(r["Request"].get("MicrosoftClickId") for r in accepted()),
            timeout=240,
            interval=3,
            what="a conversion matched by its msclkid",
        )

        # Pushed to Google too: the Data Manager API took events and matched gclids to clicks.
        def google_matched() -> list:
            events = _json(f"{google}/_emulator/events").get("events", [])
            return [
                e
                for e in events
                if e.get("status") == "SUCCESS"
                and not e.get("pending")
                and (e.get("ad_identifiers") or {}).get("gclid")
            ]

        wait_for(
            lambda: len(google_matched()) > 0,
            timeout=300,
            interval=3,
            what="a conversion pushed to Google and matched by its gclid",
        )
        assert all(e["customer_id"] == "1234567890" for e in google_matched())

        # Pulled: insights reachable through the public API with the workspace's key.
        end = date.today() - timedelta(days=1)

        def insight_rows() -> list:
            return _json(
                f"{web}/api/v1/insights",
                headers={"Authorization": f"Bearer {creds['api_key']}"},
                params={
                    "from": (end - timedelta(days=6)).isoformat(),
                    "to": end.isoformat(),
                    "level": "campaign",
                },
            ).get("rows", [])

        wait_for(
            lambda: {row["platform"] for row in insight_rows()} >= {"microsoft_ads", "google_ads"},
            timeout=180,
            interval=3,
            what="insights pulled from both emulators",
        )
        assert all(float(row["spend"]) >= 0 for row in insight_rows())
        google_rows = [row for row in insight_rows() if row["platform"] == "google_ads"]
        assert {row["account_id"] for row in google_rows} == {"1234567890"}

        # A newcomer can sign in and see the connection pushing.
        browser = requests.Session()
        login = browser.get(f"{web}/login", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
        browser.post(
            f"{web}/login",
            timeout=10,
            data={"email": creds["email"], "password": creds["password"], "csrf_token": token},
        )
        platforms = browser.get(f"{web}/", timeout=10).text
        assert "Demo Workspace" in platforms

        # An operator's `flask` command reaches the running demo through the file it wrote
        # (the README: `flask` reads `.env`; here the test's copy is named with --env-file).
        operator_env = {
            k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")
        }
        listing = subprocess.run(
            [
                sys.executable,
                "-m",
                "flask",
                "--env-file",
                str(tmp_path / "demo.env"),
                "jobs",
                "schedule",
                "--list",
            ],
            cwd=ROOT,
            env=operator_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listing.returncode == 0, listing.stdout + listing.stderr
        assert "schedule-push-fanout" in listing.stdout and "NOT REGISTERED" not in listing.stdout
        connections = subprocess.run(
            [
                sys.executable,
                "-m",
                "flask",
                "--env-file",
                str(tmp_path / "demo.env"),
                "connections",
                "list",
            ],
            cwd=ROOT,
            env=operator_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert connections.returncode == 0, connections.stdout + connections.stderr
        active = [line.split() for line in connections.stdout.splitlines() if " active " in line]
        assert {(cols[3], cols[4]) for cols in active} >= {
            ("microsoft_ads", "80000011"),
            ("google_ads", "1234567890"),
        }
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        try:
            demo.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            raise
    for port in ports.values():
        wait_for(lambda port=port: not port_open(port), timeout=20, what=f"port {port} freed")
