"""``rediss://`` everywhere Redis is used, against a real TLS-only Redis with a self-signed
certificate (what Heroku's Redis add-on presents): the health check, the login rate limiter,
credential locks, the RQ worker and the scheduler, with ``REDIS_TLS_VERIFY`` deciding whether the
certificate must chain to a trusted CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from redis import Redis

from config import ConfigError, load_settings, redact_url, redis_tls_url
from tests.conftest import test_environ
from tests.fake_platform import FakePlatform
from tests.helpers.processes import python_process, start_tls_redis, stop, wait_for


def test_the_tls_setting_is_spelled_into_rediss_urls_only() -> None:
    plain = "redis://127.0.0.1:6379/0"
    assert redis_tls_url(plain, verify=False) == plain
    url = "rediss://:pw@redis.example:6380"
    assert redis_tls_url(url, verify=False) == url + "?ssl_cert_reqs=none"
    assert redis_tls_url(url, verify=True) == url + "?ssl_cert_reqs=required"
    assert redis_tls_url(url, verify=True, ca_file="/ca.pem") == (
        url + "?ssl_cert_reqs=required&ssl_ca_certs=%2Fca.pem"
    )
    explicit = url + "?ssl_cert_reqs=optional"
    assert redis_tls_url(explicit, verify=False) == explicit  # the operator's URL wins


def test_settings_apply_redis_tls_verify_to_the_app_and_the_rate_limiter() -> None:
    env = {
        "SOURCELOOP_ENV": "production",
        "SECRET_KEY": "x" * 40,
        "DATABASE_URL": "postgres://u:p@db.example/sl",
        "REDIS_URL": "rediss://:secret@redis.example:6380",
        "TOKEN_ENCRYPTION_KEYS": "1pVb0sBLwK4Lq9P5Wn0yZz0pQmJm9n3ZJ2t4JQ1WwGQ=",
        "PUBLIC_URL": "https://sourceloop.example",
    }
    default = load_settings(env)
    assert default.redis_url.endswith("?ssl_cert_reqs=required")  # verified unless told
    off = load_settings({**env, "REDIS_TLS_VERIFY": "off"})
    assert off.redis_url == "rediss://:secret@redis.example:6380?ssl_cert_reqs=none"
    assert off.flask_config()["RATELIMIT_STORAGE_URI"] == off.redis_url  # the limiter's Redis
    own = load_settings(
        {**env, "REDIS_TLS_VERIFY": "off", "RATELIMIT_STORAGE_URL": "rediss://limits:6380/1"}
    )
    assert (
        own.flask_config()["RATELIMIT_STORAGE_URI"] == "rediss://limits:6380/1?ssl_cert_reqs=none"
    )
    with pytest.raises(ConfigError, match="REDIS_TLS_VERIFY"):
        load_settings({**env, "REDIS_TLS_VERIFY": "maybe"})
    with pytest.raises(ConfigError, match="REDIS_TLS_CA_FILE"):
        load_settings({**env, "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"})
    assert redact_url(off.redis_url) == "rediss://:***@redis.example:6380?ssl_cert_reqs=none"


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    process, port, cert = start_tls_redis(tmp_path_factory.mktemp("tls-redis"))
    try:
        yield f"rediss://127.0.0.1:{port}/0", cert
    finally:
        stop(process)


def _app(database_url: str, url: str, **extra: str) -> Flask:
    from webapp.factory import create_app

    env = test_environ(database_url, url, RATELIMIT_STORAGE_URL=url, **extra)
    return create_app(load_settings(env), extra_platforms=[FakePlatform])


def _raw(url: str, cert: Path) -> Redis:
    return Redis.from_url(url, ssl_cert_reqs="required", ssl_ca_certs=str(cert))


def test_with_verification_off_the_app_rate_limiter_and_locks_work(
    _migrated: str, tls_redis: tuple[str, Path]
) -> None:
    url, cert = tls_redis
    _raw(url, cert).flushdb()
    app = _app(_migrated, url, REDIS_TLS_VERIFY="off")
    client = app.test_client()
    health = client.get("/healthz")
    assert health.status_code == 200, health.get_json()
    assert health.get_json()["checks"]["redis"] == {"status": "ok"}
    app.config["WTF_CSRF_ENABLED"] = False
    response = client.post("/login", data={"email": "nobody@example.com", "password": "x"})
    assert response.status_code == 401  # "wrong email or password", not a 500
    keys = [k.decode() for k in _raw(url, cert).keys("*")]
    assert any("login" in k or "LIMITS" in k for k in keys), keys  # counted in the TLS Redis
    with app.app_context():
        from webapp.connections.credentials import _lock

        lock = _lock(424242)
        assert lock.acquire(blocking=False)
        lock.release()


def test_with_verification_on_a_self_signed_certificate_is_refused_unless_its_ca_is_given(
    _migrated: str, tls_redis: tuple[str, Path]
) -> None:
    url, cert = tls_redis
    refused = _app(_migrated, url).test_client().get("/healthz")
    assert refused.status_code == 503
    assert refused.get_json()["checks"]["redis"]["status"] == "error"
    trusted = _app(_migrated, url, REDIS_TLS_CA_FILE=str(cert)).test_client().get("/healthz")
    assert trusted.status_code == 200, trusted.get_json()


@pytest.mark.e2e
def test_the_worker_and_the_scheduler_run_over_tls(
    _migrated: str, tls_redis: tuple[str, Path], tmp_path: Path
) -> None:
    from rq_scheduler import Scheduler

    from jobs.queues import DEFAULT, redis_connection
    from jobs.schedule import SCHEDULE
    from webapp.background.job_runs import enqueue
    from webapp.extensions import db
    from webapp.models import JobRun

    url, cert = tls_redis
    _raw(url, cert).flushdb()
    env = test_environ(_migrated, url, REDIS_TLS_VERIFY="off", SCHEDULER_INTERVAL="1")
    app = _app(_migrated, url, REDIS_TLS_VERIFY="off")
    with app.app_context():
        run_id = enqueue("push_fanout")
        worker = python_process(["-m", "jobs.worker", "--burst"], env, tmp_path / "worker.log")
        try:
            worker.wait(60)
        finally:
            stop(worker)
        db.session.expire_all()
        run = db.session.get(JobRun, run_id)
        assert run.status == JobRun.SUCCEEDED, (tmp_path / "worker.log").read_text()[-2000:]
        scheduler_proc = python_process(["-m", "jobs.scheduler"], env, tmp_path / "sched.log")
        try:
            scheduler = Scheduler(
                queue_name=DEFAULT, connection=redis_connection(app.config["REDIS_URL"])
            )
            wait_for(
                lambda: len(list(scheduler.get_jobs())) == len(SCHEDULE),
                timeout=90,
                what="the scheduler to register its entries over TLS",
            )
        finally:
            stop(scheduler_proc)
        db.session.execute(db.delete(JobRun))
        db.session.commit()
