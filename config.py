"""Typed settings read from the environment.

One frozen dataclass, built once by ``load_settings()``. Development gets safe defaults so the app
runs from a clean checkout; production refuses to start and names every missing secret, because a
silently generated key in production would log everybody out on each deploy and make stored tokens
undecryptable.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"

# Development-only values. They are public (they are in this file), so production rejects them.
_DEV_SECRET_KEY = "dev-only-secret-key-change-me"  # noqa: S105
_DEV_TOKEN_KEY = "ZGV2LW9ubHktZmVybmV0LWtleS0zMi1ieXRlcyEhISE="  # noqa: S105
# A session cookie is signed with SECRET_KEY: a short key can be guessed offline from one cookie.
MIN_SECRET_KEY_LENGTH = 32
# The largest request body the app reads (the conversion API's batch limit plus headroom). Every
# endpoint reads at most this much; larger bodies get 413 before they are read.
MAX_CONTENT_LENGTH = 4 * 1024 * 1024


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a usable configuration."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str = _DEV_SECRET_KEY
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'sourceloop.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    token_encryption_keys: tuple[str, ...] = (_DEV_TOKEN_KEY,)
    public_url: str = "http://127.0.0.1:5000"
    # How many reverse proxies in front of the app append to X-Forwarded-For (Heroku: 1). Only
    # that many hops are believed; the client address feeds session protection and rate limits.
    trusted_proxy_count: int = 0
    # Platform keys switched off by the operator: not loaded, not checked at start.
    disabled_platforms: tuple[str, ...] = ()
    login_rate_limit: str = "10 per minute"
    ratelimit_storage_url: str = ""  # empty: the app's Redis (REDIS_URL)
    log_level: str = "INFO"
    # Multiplies every job retry delay (tests and demos shrink backoff; 1.0 in production).
    job_retry_scale: float = 1.0
    # How long a push job holds claimed ledger rows before another job may take them.
    push_lease_seconds: int = 300
    # How much history the first insights pull of a connection fetches.
    insights_backfill_days: int = 90
    # The daily pull spreads each customer's pulls over at most this many minutes from 05:00.
    pull_window_minutes: int = 240
    # How often the scheduler's push fan-out runs (UTC cron); the smoke test shortens it.
    push_schedule: str = "*/2 * * * *"
    platform_settings: Mapping[str, str] = field(default_factory=dict)
    # Alerts by e-mail: smtp://user:password@host:587 (STARTTLS) or smtps://...:465 (TLS);
    # empty: alerts show in the app only.
    smtp_url: str = ""
    alert_email_from: str = "SourceLoop <alerts@sourceloop.invalid>"
    # The environment the settings were read from: each plugin also gets the variables named
    # with its key as prefix (``EXAMPLE_ADS_URL`` for ``example_ads``), see load_registry.
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_testing(self) -> bool:
        return self.env == "testing"

    def flask_config(self) -> dict[str, object]:
        """The subset Flask and its extensions read from ``app.config``."""
        engine_options: dict[str, object] = {"pool_pre_ping": True}
        return {
            "ENV_NAME": self.env,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "REDIS_URL": self.redis_url,
            "TOKEN_ENCRYPTION_KEYS": self.token_encryption_keys,
            "PUBLIC_URL": self.public_url.rstrip("/"),
            "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
            "TRUSTED_PROXY_COUNT": self.trusted_proxy_count,
            "DISABLED_PLATFORMS": self.disabled_platforms,
            "TESTING": self.is_testing,
            "WTF_CSRF_TIME_LIMIT": None,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.is_production,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SECURE": self.is_production,
            "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
            "LOGIN_RATE_LIMIT": self.login_rate_limit,
            "RATELIMIT_STORAGE_URI": self.ratelimit_storage_url or self.redis_url,
            "RATELIMIT_HEADERS_ENABLED": True,
            # Redis down: per-address limits let requests through (logged); the sign-in throttle
            # does not (sign-in answers 503 until Redis is back).
            "RATELIMIT_SWALLOW_ERRORS": True,
            "LOG_LEVEL": self.log_level,
            "JOB_RETRY_SCALE": self.job_retry_scale,
            "PUSH_LEASE_SECONDS": self.push_lease_seconds,
            "INSIGHTS_BACKFILL_DAYS": self.insights_backfill_days,
            "PULL_WINDOW_MINUTES": self.pull_window_minutes,
            "PUSH_SCHEDULE": self.push_schedule,
            "PLATFORM_SETTINGS": dict(self.platform_settings),
            # A job calling a platform inside a database transaction (webapp.connections.platform_calls)
            "PLATFORM_CALL_GUARD": "raise" if self.is_testing else "log",
            "SMTP_URL": self.smtp_url,
            "ALERT_EMAIL_FROM": self.alert_email_from,
        }


def _normalise_database_url(url: str) -> str:
    """Heroku hands out ``postgres://`` URLs; SQLAlchemy 2 wants an explicit driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


_FALSE = {"0", "false", "no", "off"}
_TRUE = {"1", "true", "yes", "on"}


def _flag(env_vars: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env_vars.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in _FALSE | _TRUE:
        raise ConfigError(f"{name} must be on or off (1/0, true/false), not {raw!r}")
    return raw in _TRUE


def redis_tls_url(url: str, *, verify: bool, ca_file: str = "") -> str:
    """A ``rediss://`` URL with its certificate checking spelled out, so every Redis client built
    from it (queues, scheduler, worker, locks, health check, login rate limiter) connects alike.

    Heroku's Redis presents a self-signed certificate: ``REDIS_TLS_VERIFY=off`` accepts it (the
    link is still encrypted); ``REDIS_TLS_CA_FILE`` verifies against your own CA instead. A
    setting already in the URL's query wins. Plain ``redis://`` URLs are returned unchanged."""
    if not url.startswith("rediss://"):
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if verify:
        query.setdefault("ssl_cert_reqs", "required")
        if ca_file:
            query.setdefault("ssl_ca_certs", ca_file)
    else:
        query.setdefault("ssl_cert_reqs", "none")
    return urlunsplit(parts._replace(query=urlencode(query)))


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def _split_keys(raw: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in raw.split(",") if k.strip())


def _validate_fernet_keys(keys: tuple[str, ...]) -> None:
    # The check Fernet's constructor makes (32 bytes of url-safe base64), without importing
    # cryptography on every start-up; tests/test_config.py holds the two checks equal.
    for index, key in enumerate(keys):
        try:
            raw = base64.urlsafe_b64decode(key.encode())
            if len(raw) != 32:
                raise ValueError("a Fernet key is 32 bytes")
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"TOKEN_ENCRYPTION_KEYS entry #{index + 1} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes; make one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc


def _number(env_vars: Mapping[str, str], name: str, default: float) -> float:
    raw = env_vars.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0")
    return value


def _count(env_vars: Mapping[str, str], name: str) -> int:
    raw = env_vars.get(name, "").strip() or "0"
    if not raw.isdigit() or int(raw) > 10:
        raise ConfigError(f"{name} must be a whole number from 0 to 10, not {raw!r}")
    return int(raw)


def _check_production(env_vars: Mapping[str, str]) -> None:
    """Every reason production must not start, named by setting (values are never echoed)."""
    missing = [
        name
        for name in (
            "SECRET_KEY",
            "DATABASE_URL",
            "REDIS_URL",
            "TOKEN_ENCRYPTION_KEYS",
            "PUBLIC_URL",
        )
        if not env_vars.get(name, "").strip()
    ]
    if missing:
        raise ConfigError(
            "Production refuses to start: missing required setting(s): " + ", ".join(missing)
        )
    # The app uses the trimmed values, so the checks must look at the trimmed values too.
    secret_key = env_vars["SECRET_KEY"].strip()
    if secret_key == _DEV_SECRET_KEY or _DEV_TOKEN_KEY in _split_keys(
        env_vars["TOKEN_ENCRYPTION_KEYS"]
    ):
        raise ConfigError("Production refuses to start: development secrets are in use")
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"Production refuses to start: SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} "
            "characters long (make one with `python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`)"
        )
    public_url = env_vars["PUBLIC_URL"].strip()
    if not public_url.startswith(("https://", "http://")):
        raise ConfigError("Production refuses to start: PUBLIC_URL must be an http(s) URL")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from ``environ`` (default ``os.environ``); raise ConfigError when unusable."""
    env_vars = os.environ if environ is None else environ
    env = env_vars.get("SOURCELOOP_ENV", "development").strip().lower()
    if env not in {"development", "testing", "production"}:
        raise ConfigError(f"SOURCELOOP_ENV must be development, testing or production, not {env!r}")

    defaults = Settings()
    if env == "production":
        _check_production(env_vars)
    keys = _split_keys(env_vars.get("TOKEN_ENCRYPTION_KEYS", "")) or defaults.token_encryption_keys
    _validate_fernet_keys(keys)

    tls_verify = _flag(env_vars, "REDIS_TLS_VERIFY", True)
    tls_ca_file = env_vars.get("REDIS_TLS_CA_FILE", "").strip()
    if tls_ca_file and not Path(tls_ca_file).is_file():
        raise ConfigError(f"REDIS_TLS_CA_FILE {tls_ca_file!r} is not a readable file")
    redis_url = redis_tls_url(
        env_vars.get("REDIS_URL", "").strip() or defaults.redis_url,
        verify=tls_verify,
        ca_file=tls_ca_file,
    )
    ratelimit_storage_url = redis_tls_url(  # empty: the app's Redis, already spelled out
        env_vars.get("RATELIMIT_STORAGE_URL", "").strip(), verify=tls_verify, ca_file=tls_ca_file
    )

    push_schedule = " ".join(env_vars.get("PUSH_SCHEDULE", "").split()) or defaults.push_schedule
    if len(push_schedule.split()) != 5:
        raise ConfigError(f"PUSH_SCHEDULE must be a 5-field cron line, not {push_schedule!r}")

    platform_settings = {
        name: value
        for name, value in env_vars.items()
        if name.startswith("MSADS_") or name.startswith("PLATFORM_")
    }
    return Settings(
        env=env,
        secret_key=env_vars.get("SECRET_KEY", "").strip() or defaults.secret_key,
        database_url=_normalise_database_url(
            env_vars.get("DATABASE_URL", "").strip() or defaults.database_url
        ),
        redis_url=redis_url,
        token_encryption_keys=keys,
        public_url=env_vars.get("PUBLIC_URL", "").strip() or defaults.public_url,
        trusted_proxy_count=_count(env_vars, "TRUSTED_PROXY_COUNT"),
        disabled_platforms=tuple(
            key.strip().lower()
            for key in env_vars.get("SOURCELOOP_DISABLED_PLATFORMS", "").split(",")
            if key.strip()
        ),
        login_rate_limit=env_vars.get("LOGIN_RATE_LIMIT", "").strip() or defaults.login_rate_limit,
        ratelimit_storage_url=ratelimit_storage_url,
        log_level=env_vars.get("LOG_LEVEL", "").strip().upper() or defaults.log_level,
        job_retry_scale=_number(env_vars, "JOB_RETRY_SCALE", defaults.job_retry_scale),
        push_lease_seconds=int(
            _number(env_vars, "PUSH_LEASE_SECONDS", defaults.push_lease_seconds)
        ),
        insights_backfill_days=int(
            _number(env_vars, "INSIGHTS_BACKFILL_DAYS", defaults.insights_backfill_days)
        ),
        pull_window_minutes=max(
            1, int(_number(env_vars, "PULL_WINDOW_MINUTES", defaults.pull_window_minutes))
        ),
        push_schedule=push_schedule,
        platform_settings=platform_settings,
        smtp_url=_smtp_url(env_vars.get("SMTP_URL", "").strip()),
        alert_email_from=env_vars.get("ALERT_EMAIL_FROM", "").strip() or defaults.alert_email_from,
        environ=dict(env_vars),
    )


def _smtp_url(raw: str) -> str:
    if raw and urlsplit(raw).scheme not in ("smtp", "smtps"):
        raise ConfigError("SMTP_URL must start with smtp:// (STARTTLS when offered) or smtps://")
    if raw and not urlsplit(raw).hostname:
        raise ConfigError("SMTP_URL must name a host, e.g. smtp://user:password@mail.example:587")
    return raw
