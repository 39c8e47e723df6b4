"""Worker entry: ``python -m jobs.worker [queue ...]`` (Procfile ``worker``).

Builds the shared app (settings, database, platform registry; no views or forms), binds it for
jobs, and runs an RQ worker on the push, pull and default queues in that priority. The job bodies
are imported here, once, so each forked work horse starts with them loaded. RQ's warm shutdown
handles SIGTERM: the current job finishes before the process exits, as Heroku's dyno restarts
expect.
"""

from __future__ import annotations

import argparse
import logging

from rq import Worker

import jobs.attribution
import jobs.connection_jobs
import jobs.fanout
import jobs.pull
import jobs.push  # noqa: F401  (with the four above: every body jobs.enqueue.JOBS names)
from jobs.queues import ALL_QUEUES, get_queue, redis_connection
from jobs.runtime import bind_app
from webapp.core import create_base_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SourceLoop RQ worker")
    parser.add_argument("queues", nargs="*", default=list(ALL_QUEUES))
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)

    app = create_base_app()
    bind_app(app)
    url = app.config["REDIS_URL"]
    queues = [get_queue(name, url) for name in args.queues]
    logging.getLogger(__name__).info("worker listening on %s", ", ".join(args.queues))
    worker = Worker(queues, connection=redis_connection(url))
    worker.work(burst=args.burst, logging_level=app.config["LOG_LEVEL"])


if __name__ == "__main__":
    main()
