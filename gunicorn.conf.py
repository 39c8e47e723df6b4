"""gunicorn settings for the ``web`` process (Heroku-style: $PORT, $WEB_CONCURRENCY)."""

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
