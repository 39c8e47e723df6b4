"""Where the demo's pieces listen, from the environment scripts/demo sets (one place)."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CREDENTIALS = Path(os.environ.get("DEMO_CREDENTIALS", ROOT / "instance" / "demo-credentials.json"))


def sourceloop_url() -> str:
    return os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000").rstrip("/")


def emulator_url() -> str:
    return os.environ.get("MSADS_EMULATOR_URL", "http://127.0.0.1:5055").rstrip("/")


def google_emulator_url() -> str:
    return os.environ.get("GOOGLE_ADS_EMULATOR_URL", "http://127.0.0.1:5056").rstrip("/")


def site_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('DEMO_SITE_PORT', '5060')}"


def credentials() -> dict[str, str]:
    """Written by ``flask demo seed``: owner login, pixel key, API key for server-side events."""
    return json.loads(CREDENTIALS.read_text()) if CREDENTIALS.exists() else {}
