"""gunicorn settings for the ``web`` process (Heroku-style: $PORT, $WEB_CONCURRENCY)."""

import gc
import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"  # noqa: S104
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
# Query strings (OAuth codes) and invite tokens never reach the access log.
logger_class = "webapp.access_log.ScrubbingLogger"
errorlog = "-"
# Behind Heroku's router / a reverse proxy, trust X-Forwarded-Proto from it. The client address
# comes from the app's ProxyFix, which believes only TRUSTED_PROXY_COUNT hops of X-Forwarded-For.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
preload_app = True


def when_ready(server) -> None:  # noqa: ANN001
    """In the master, after preload_app loaded the app and before the first worker forks: the
    app's ``before_fork`` work (what each worker would otherwise redo on its first requests, and
    again after every max_requests recycling) is done once and inherited, and gc.freeze() keeps
    the loaded objects out of the workers' garbage collections (and their memory shared)."""
    if not server.cfg.preload_app:
        return  # each worker loads the app itself; the master must not
    app = server.app.wsgi()
    for prepare in getattr(app, "extensions", {}).get("before_fork", ()):
        prepare()
    gc.freeze()
