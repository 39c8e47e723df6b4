"""Production refuses to start on weak or missing settings (issue 15, defect 3).

The checks look at the values the app will use (trimmed), name the setting, and never echo it.
"""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from config import _DEV_SECRET_KEY, ConfigError, load_settings
from platforms.google_ads.plugin import GoogleAdsPlatform
from platforms.microsoft_ads.plugin import MicrosoftAdsPlatform
from tests.fake_platform import FakePlatform

GOOD_KEY = Fernet.generate_key().decode()
STRONG_SECRET = "k" * 48


def production_environ(**changes: str | None) -> dict[str, str]:
    environ = {
        "SOURCELOOP_ENV": "production",
        "SECRET_KEY": STRONG_SECRET,
        "DATABASE_URL": "postgres://u:p@db/sourceloop",
        "REDIS_URL": "redis://redis:6379/0",
        "TOKEN_ENCRYPTION_KEYS": GOOD_KEY,
        "PUBLIC_URL": "https://sourceloop.example",
        "MSADS_ENVIRONMENT": "production",
        "MSADS_CLIENT_ID": "client-id",
        "MSADS_CLIENT_SECRET": "client-secret",
        "MSADS_DEVELOPER_TOKEN": "developer-token",
        "GOOGLE_ADS_ENVIRONMENT": "production",
        "GOOGLE_ADS_CLIENT_ID": "google-client-id.apps.googleusercontent.com",
        "GOOGLE_ADS_CLIENT_SECRET": "google-client-secret",
    }
    for name, value in changes.items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return environ


@pytest.mark.parametrize(
    "secret", [_DEV_SECRET_KEY + "\n", f"  {_DEV_SECRET_KEY}  ", "\t" + _DEV_SECRET_KEY]
)
def test_the_development_secret_with_whitespace_is_refused(secret: str) -> None:
    with pytest.raises(ConfigError, match="development secrets"):
        load_settings(production_environ(SECRET_KEY=secret))


@pytest.mark.parametrize("secret", ["a", "short-but-not-empty", "x" * 31, "   " + "y" * 31])
def test_a_short_secret_key_is_refused_and_named(secret: str) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY must be at least 32") as info:
        load_settings(production_environ(SECRET_KEY=secret))
    assert len(secret.strip()) < 3 or secret.strip() not in str(info.value)


def test_a_32_character_secret_starts() -> None:
    assert load_settings(production_environ(SECRET_KEY="z" * 32)).secret_key == "z" * 32


@pytest.mark.parametrize("public_url", [None, "", "   "])
def test_production_needs_public_url(public_url: str | None) -> None:
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        load_settings(production_environ(PUBLIC_URL=public_url))


def test_development_keys_in_a_rotation_list_are_refused() -> None:
    from config import _DEV_TOKEN_KEY

    with pytest.raises(ConfigError, match="development secrets"):
        load_settings(production_environ(TOKEN_ENCRYPTION_KEYS=f"{GOOD_KEY}, {_DEV_TOKEN_KEY} "))


def _create(environ: dict[str, str]):
    from webapp.factory import create_app

    return create_app(load_settings(environ))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"MSADS_ENVIRONMENT": None}, "MSADS_ENVIRONMENT"),
        ({"MSADS_ENVIRONMENT": "emulator"}, "MSADS_ENVIRONMENT"),
        ({"MSADS_CLIENT_ID": None}, "MSADS_CLIENT_ID"),
        ({"MSADS_CLIENT_SECRET": " "}, "MSADS_CLIENT_SECRET"),
        ({"MSADS_DEVELOPER_TOKEN": None}, "MSADS_DEVELOPER_TOKEN"),
    ],
)
def test_production_refuses_a_platform_that_is_not_ready(
    changes: dict[str, str | None], named: str
) -> None:
    environ = production_environ(**changes)
    with pytest.raises(ConfigError, match=named) as info:
        _create(environ)
    assert "client-secret" not in str(info.value)
    assert "SOURCELOOP_DISABLED_PLATFORMS" in str(info.value)


def test_production_starts_with_no_platform_settings_when_the_platform_is_switched_off() -> None:
    environ = {
        name: value
        for name, value in production_environ().items()
        if not name.startswith(("MSADS_", "GOOGLE_ADS_"))
    }
    environ["SOURCELOOP_DISABLED_PLATFORMS"] = " microsoft_ads, google_ads "
    app = _create(environ)
    assert "microsoft_ads" not in app.extensions["platforms"]
    assert sorted(app.extensions["platforms"].disabled) == ["google_ads", "microsoft_ads"]


def test_a_fully_configured_production_starts() -> None:
    app = _create(production_environ())
    assert "microsoft_ads" in app.extensions["platforms"]
    assert "google_ads" in app.extensions["platforms"]
    assert app.config["PUBLIC_URL"] == "https://sourceloop.example"


def test_an_unknown_disabled_platform_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no_such_platform"):
        _create(production_environ(SOURCELOOP_DISABLED_PLATFORMS="no_such_platform"))


def test_the_plugin_interface_reports_problems_per_plugin() -> None:
    assert FakePlatform().production_problems() == []
    assert (
        MicrosoftAdsPlatform(
            {
                "MSADS_ENVIRONMENT": "sandbox",
                "MSADS_CLIENT_ID": "id",
                "MSADS_CLIENT_SECRET": "secret",
            }
        ).production_problems()
        == []
    )
    problems = MicrosoftAdsPlatform({}).production_problems()
    assert any("MSADS_ENVIRONMENT" in p for p in problems)
    # A rehearsal against the emulator must name both settings; the default never passes.
    rehearsal = {"MSADS_CLIENT_ID": "id", "MSADS_CLIENT_SECRET": "s", "MSADS_DEVELOPER_TOKEN": "t"}
    rehearsal["MSADS_ALLOW_EMULATOR_IN_PRODUCTION"] = "1"
    assert any(
        "MSADS_ENVIRONMENT" in p for p in MicrosoftAdsPlatform(rehearsal).production_problems()
    )
    rehearsal["MSADS_ENVIRONMENT"] = "emulator"
    assert MicrosoftAdsPlatform(rehearsal).production_problems() == []
    assert {"MSADS_CLIENT_ID is not set", "MSADS_CLIENT_SECRET is not set"} <= set(problems)


def test_google_ads_reports_its_production_problems() -> None:
    google = GoogleAdsPlatform({}).production_problems()
    assert any("GOOGLE_ADS_ENVIRONMENT" in p for p in google)
    # The emulator's built-in OAuth client does not count as configured.
    assert {"GOOGLE_ADS_CLIENT_ID is not set", "GOOGLE_ADS_CLIENT_SECRET is not set"} <= set(google)
    configured = {
        "GOOGLE_ADS_ENVIRONMENT": "production",
        "GOOGLE_ADS_CLIENT_ID": "id",
        "GOOGLE_ADS_CLIENT_SECRET": "secret",
    }
    assert GoogleAdsPlatform(configured).production_problems() == []
    rehearsal = {**configured, "GOOGLE_ADS_ENVIRONMENT": "emulator"}
    assert GoogleAdsPlatform(rehearsal).production_problems()
    rehearsal["GOOGLE_ADS_ALLOW_EMULATOR_IN_PRODUCTION"] = "1"
    assert GoogleAdsPlatform(rehearsal).production_problems() == []
