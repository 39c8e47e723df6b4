"""Worker entry: ``python -m jobs.worker [queue ...]`` (Procfile ``worker``).

Builds the shared app (settings, database; no views or forms), binds it for jobs, and runs an
RQ worker on the push, pull and default queues in that priority. The worker registers and listens
before it imports any job body: it loads every body ``jobs.enqueue.JOBS`` names (and the platform
plugins) once, in the worker process, right before its first job, so every forked work horse
starts with them loaded and a worker that never gets a job never pays for them. RQ's warm
shutdown handles SIGTERM: the current job finishes before the process exits, as Heroku's dyno
restarts expect.
"""

from __future__ import annotations

import argparse
import logging

from flask import Flask
from rq import Queue, Worker
from rq.job import Job

from jobs.queues import ALL_QUEUES, get_queue, redis_connection
from webapp.core import create_base_app
from webapp.extensions import platform_registry


def preload(app: Flask) -> None:
    """Import every job body (``tests/test_startup.py`` checks this covers ``jobs.enqueue.JOBS``),
    bind ``app`` for them and load the platform plugins."""
    import jobs.alerts
    import jobs.attribution
    import jobs.connection_jobs
    import jobs.fanout
    import jobs.pull
    import jobs.push
    import jobs.realtime
    import jobs.retention  # noqa: F401  (with the seven above: every body JOBS names)
    from jobs.runtime import bind_app

    bind_app(app)
    with app.app_context():
        platform_registry(app).load()
    # The models' mappers are configured on first use, which would be in every work horse.
    from sqlalchemy.orm import configure_mappers

    configure_mappers()


class SourceLoopWorker(Worker):
    """RQ's forking worker that preloads the job bodies in this process before its first job."""

    app: Flask | None = None  # set by main(); without it each work horse imports what it runs
    preloaded: bool = False

    def execute_job(self, job: Job, queue: Queue) -> None:
        if not self.preloaded and self.app is not None:
            preload(self.app)
            self.preloaded = True
        super().execute_job(job, queue)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SourceLoop RQ worker")
    parser.add_argument("queues", nargs="*", default=list(ALL_QUEUES))
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args(argv)

    app = create_base_app()
    url = app.config["REDIS_URL"]
    queues = [get_queue(name, url) for name in args.queues]
    logging.getLogger(__name__).info("worker listening on %s", ", ".join(args.queues))
    worker = SourceLoopWorker(queues, connection=redis_connection(url))
    worker.app = app
    worker.work(burst=args.burst, logging_level=app.config["LOG_LEVEL"])


if __name__ == "__main__":
    main()
