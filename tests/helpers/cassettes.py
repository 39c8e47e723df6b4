"""Betamax cassettes as every platform's plugin tests use them: one cassette per test, a
placeholder for every secret, token bodies and cookies scrubbed before a recording is written,
and a test that fails when its cassette recorded or played nothing (the praw habit).

Each platform's conftest keeps what is its own: its target settings, its placeholders, how it
obtains a real token while recording, and its betamax configuration."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import betamax
import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session

TOKEN_FIELDS = re.compile(r'"(access_token|refresh_token|id_token)"\s*:\s*"[^"]*"')
FAR_FUTURE = 4102444800  # the replayed token never expires (2100-01-01)


def cassette_name(node_name: str, prefix: str = "") -> str:
    """A file-safe cassette name for a test (``request.node.name``)."""
    return prefix + re.sub(r"[^A-Za-z0-9_]+", "_", node_name).strip("_")


def bearer_session(client_id: str, access_token: str) -> OAuth2Session:
    """An Authlib session like the host's, holding ``access_token``."""
    return OAuth2Session(
        client_id=client_id,
        token={"access_token": access_token, "token_type": "Bearer", "expires_at": FAR_FUTURE},
    )


def emulator_code_grant(emulator_url: str, user: str) -> dict[str, str]:
    """Token-request fields for a code the emulator grants without a browser (no PKCE asked)."""
    granted = requests.post(f"{emulator_url}/_emulator/consent", json={"user": user}, timeout=10)
    granted.raise_for_status()
    answer = granted.json()
    return {
        "grant_type": "authorization_code",
        "code": answer["code"],
        "redirect_uri": answer["redirect_url"].split("?", 1)[0],
    }


def fetch_access_token(token_url: str, form: dict[str, str]) -> str:
    token = requests.post(token_url, data=form, timeout=30)
    token.raise_for_status()
    return str(token.json()["access_token"])


def _as_text(body: dict[str, Any]) -> None:
    """Store a text body as text (readable, and visible to placeholders and scrubbing); only
    binary ones (report ZIPs) stay base64."""
    if "base64_string" not in body:
        return
    try:
        text = base64.b64decode(body["base64_string"]).decode("utf-8")
    except UnicodeDecodeError:
        return
    del body["base64_string"]
    body["string"] = text


def scrub(interaction: Any, *, text_bodies: bool = False) -> None:
    """Before a recording is written: no bearer token, no token bodies, no cookies.

    The interaction is marked used: betamax's "all" mode would otherwise let a later identical
    request (a retry) overwrite it. Content-Length goes because placeholders change body
    lengths, and a recorded one would truncate the replayed body."""
    interaction.used = True
    request = interaction.data["request"]
    response = interaction.data["response"]
    request["headers"].pop("Cookie", None)
    response["headers"].pop("Set-Cookie", None)
    response["headers"].pop("Content-Length", None)
    if "Authorization" in request["headers"]:
        request["headers"]["Authorization"] = ["Bearer <ACCESS_TOKEN>"]
    for body in (request.get("body", {}), response.get("body", {})):
        if text_bodies:
            _as_text(body)
        if isinstance(body.get("string"), str):
            body["string"] = TOKEN_FIELDS.sub(r'"\1": "<SCRUBBED>"', body["string"])


@contextmanager
def checked_cassette(
    recorder: betamax.Betamax, name: str, recording: bool, **options: Any
) -> Iterator[None]:
    """``recorder.use_cassette(name, **options)``; fails a cassette that recorded (while
    recording) or played (on replay) nothing."""
    with recorder.use_cassette(name, **options):
        yield
        cassette = recorder.current_cassette
        assert cassette is not None
        if recording:
            assert cassette.interactions, f"cassette {name} recorded nothing"
        else:
            assert any(i.used for i in cassette.interactions), f"cassette {name} played nothing"


def recorded_at(path: Path) -> datetime:
    """When the cassette's first interaction was recorded (UTC)."""
    first = json.loads(path.read_text())["http_interactions"][0]["recorded_at"]
    return datetime.fromisoformat(first.replace("Z", "+00:00")).astimezone(UTC)


def anchor_hour(path: Path, recording: bool, readme: str) -> datetime:
    """ "Now" for a cassette test: the recording hour, so replayed bodies equal recorded ones
    (and while recording, times stay within the platform's windows of the real now)."""
    if recording:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if not path.exists():
        pytest.fail(f"no cassette {path.name}; record it (see {readme})")
    return recorded_at(path).replace(minute=0, second=0, microsecond=0)


def arm_emulator_fault(emulator_url: str, operation: str, kind: str, count: int = 1) -> None:
    """Make the emulator fail the next ``count`` calls of ``operation``."""
    answer = requests.post(
        f"{emulator_url}/_emulator/faults",
        json={"operation": operation, "kind": kind, "count": count},
        timeout=10,
    )
    answer.raise_for_status()
