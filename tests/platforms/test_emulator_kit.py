"""The scaffolding both emulators share (``platforms.emulator_kit``), through each emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from platforms.google_ads.emulator import create_app as google_app
from platforms.google_ads.emulator.config import EmulatorConfig as GoogleConfig
from platforms.microsoft_ads.emulator import create_app as microsoft_app
from platforms.microsoft_ads.emulator.config import EmulatorConfig as MicrosoftConfig

EMULATORS: dict[str, Callable[..., Flask]] = {"google": google_app, "microsoft": microsoft_app}


@pytest.fixture(params=sorted(EMULATORS))
def app(request: pytest.FixtureRequest) -> Flask:
    return EMULATORS[request.param]()


def test_settings_come_from_each_emulators_own_prefix() -> None:
    env = {
        "GOOGLE_EMULATOR_ACCESS_TOKEN_TTL": "60",
        "GOOGLE_EMULATOR_REDIRECT_URIS": " http://a.test/cb , ,http://b.test/cb",
        "GOOGLE_EMULATOR_AUTO_CONSENT": "deny",
        "EMULATOR_STRICT_REFRESH_ROTATION": "off",
        "EMULATOR_AUTH_CODE_TTL": "",  # empty keeps the default
        "EMULATOR_DEVELOPER_TOKEN": "T0K3N",
    }
    google, microsoft = GoogleConfig.from_env(env), MicrosoftConfig.from_env(env)
    assert (google.access_token_ttl, google.auto_consent) == (60, "deny")
    assert google.redirect_uris == ("http://a.test/cb", "http://b.test/cb")
    assert microsoft.access_token_ttl == MicrosoftConfig().access_token_ttl  # not Google's
    assert microsoft.strict_refresh_rotation is False
    assert microsoft.auth_code_ttl == MicrosoftConfig().auth_code_ttl
    assert microsoft.developer_token == "T0K3N"
    assert MicrosoftConfig.from_env(
        {"EMULATOR_STRICT_REFRESH_ROTATION": "Yes"}
    ).strict_refresh_rotation


def test_overrides_apply_by_name_and_ignore_unknown_ones() -> None:
    config = MicrosoftConfig().with_overrides(
        {"ACCESS_TOKEN_TTL": 5, "redirect_uris": ["http://x.test/cb"], "nonsense": 1}
    )
    assert config.access_token_ttl == 5
    assert config.redirect_uris == ("http://x.test/cb",)
    assert GoogleConfig().with_overrides(None) == GoogleConfig()


def test_common_control_routes(app: Flask) -> None:
    client = app.test_client()
    endpoints = set(client.get("/_emulator/").get_json()["endpoints"])
    assert {
        "GET /_emulator/",
        "POST /_emulator/reset",
        "GET /_emulator/faults",
        "POST /_emulator/faults",
        "DELETE /_emulator/faults",
        "GET /_emulator/calls",
        "POST /_emulator/tokens/expire",
    } <= endpoints
    operation = client.get("/_emulator/").get_json()["operations"][1]
    armed = client.post("/_emulator/faults", json={"operation": operation, "kind": "internal"})
    assert armed.status_code == 201
    assert len(client.get("/_emulator/faults").get_json()["faults"]) == 1
    assert client.delete("/_emulator/faults").get_json() == {"faults": []}
    assert client.post("/_emulator/reset").get_json() == {"reset": True}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"operation": "Nope", "kind": "internal"}, "unknown operation"),
        ({"kind": "nope"}, "unknown kind"),
        ({"kind": "bare", "status": 200}, "kind bare needs status"),
        ({"kind": "internal", "count": "many"}, "must be numbers"),
    ],
)
def test_a_bad_fault_is_a_400(app: Flask, body: dict[str, Any], message: str) -> None:
    answer = app.test_client().post("/_emulator/faults", json=body)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]


@pytest.mark.parametrize("user", [5, "nobody@example.test"])
def test_expiring_tokens_of_an_unknown_user_is_a_404(app: Flask, user: Any) -> None:
    answer = app.test_client().post("/_emulator/tokens/expire", json={"user": user})
    assert answer.status_code == 404


def test_expiring_every_token_counts_them(app: Flask) -> None:
    answer = app.test_client().post("/_emulator/tokens/expire", json={})
    assert answer.status_code == 200
    assert answer.get_json() == {"expired_access_tokens": 0}
