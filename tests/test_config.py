from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from config import ConfigError, _validate_fernet_keys, load_settings

GOOD_KEY = Fernet.generate_key().decode()


def test_development_has_safe_defaults() -> None:
    settings = load_settings({})
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///") and "instance" in settings.database_url
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.token_encryption_keys


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TOKEN_ENCRYPTION_KEYS", "PUBLIC_URL"]
)
def test_production_refuses_to_start_and_names_the_missing_secret(missing: str) -> None:
    environ = {
        "SOURCELOOP_ENV": "production",
        "SECRET_KEY": "a-real-secret-" + "x" * 32,
        "DATABASE_URL": "postgres://u:p@db/sourceloop",
        "REDIS_URL": "redis://redis:6379/0",
        "TOKEN_ENCRYPTION_KEYS": GOOD_KEY,
        "PUBLIC_URL": "https://sourceloop.example",
    }
    del environ[missing]
    with pytest.raises(ConfigError, match=missing):
        load_settings(environ)


def test_production_rejects_development_secrets() -> None:
    from config import _DEV_SECRET_KEY

    with pytest.raises(ConfigError, match="development secrets"):
        load_settings(
            {
                "SOURCELOOP_ENV": "production",
                "SECRET_KEY": _DEV_SECRET_KEY,
                "DATABASE_URL": "postgresql://x/y",
                "REDIS_URL": "redis://r",
                "TOKEN_ENCRYPTION_KEYS": GOOD_KEY,
                "PUBLIC_URL": "https://sourceloop.example",
            }
        )


def test_production_settings_are_normalised_and_cookies_secure() -> None:
    settings = load_settings(
        {
            "SOURCELOOP_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "DATABASE_URL": "postgres://u:p@db/sl",
            "REDIS_URL": "redis://r:6379/1",
            "TOKEN_ENCRYPTION_KEYS": f"{GOOD_KEY}, {Fernet.generate_key().decode()}",
            "PUBLIC_URL": "https://sourceloop.example",
        }
    )
    assert settings.database_url == "postgresql+psycopg://u:p@db/sl"
    assert len(settings.token_encryption_keys) == 2
    config = settings.flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True and config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["RATELIMIT_STORAGE_URI"] == "redis://r:6379/1"


def test_bad_encryption_key_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="TOKEN_ENCRYPTION_KEYS entry #2"):
        load_settings({"TOKEN_ENCRYPTION_KEYS": f"{GOOD_KEY},not-a-key"})


def test_unknown_environment_name() -> None:
    with pytest.raises(ConfigError, match="SOURCELOOP_ENV"):
        load_settings({"SOURCELOOP_ENV": "staging"})


def test_smtp_url_must_be_smtp_or_smtps_with_a_host() -> None:
    assert load_settings({"SMTP_URL": "smtp://u:p@mail.example:587"}).smtp_url.endswith(":587")
    assert load_settings({}).smtp_url == ""
    for bad in ("http://mail.example", "smtp://", "mail.example:25"):
        with pytest.raises(ConfigError, match="SMTP_URL"):
            load_settings({"SMTP_URL": bad})


@pytest.mark.parametrize(
    "key",
    [
        Fernet.generate_key().decode(),
        "short",
        "A" * 43 + "=",  # 32 bytes
        "A" * 44,  # 33 bytes
        "Zm9v" * 11,  # 33 bytes of valid base64
        "%%%%" * 11,
        "é" * 44,
    ],
)
def test_the_start_up_key_check_agrees_with_fernet(key: str) -> None:
    try:
        Fernet(key.encode())
        fernet_accepts = True
    except (ValueError, TypeError):
        fernet_accepts = False
    try:
        _validate_fernet_keys((key,))
        we_accept = True
    except ConfigError:
        we_accept = False
    assert we_accept == fernet_accepts


def test_the_pull_window_is_a_positive_number_of_minutes() -> None:
    assert load_settings({}).flask_config()["PULL_WINDOW_MINUTES"] == 240
    settings = load_settings({"PULL_WINDOW_MINUTES": "90"})
    assert settings.flask_config()["PULL_WINDOW_MINUTES"] == 90
    with pytest.raises(ConfigError, match="PULL_WINDOW_MINUTES"):
        load_settings({"PULL_WINDOW_MINUTES": "soon"})
