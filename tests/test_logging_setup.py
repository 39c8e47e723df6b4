"""Every log line names the RQ job it was written in ('-' outside one) and has its secrets
scrubbed, whether or not the process imported RQ before logging."""

from __future__ import annotations

import logging

from redis import Redis
from rq import Queue, SimpleWorker

from webapp.logging_setup import ContextFilter

LOGGER = "tests.logging_setup"


def log_inside_a_job() -> str:
    logging.getLogger(LOGGER).warning("inside, access_token=abc123")
    return "done"


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str]] = []
        self.addFilter(ContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.job_id, record.getMessage()))  # type: ignore[attr-defined]


def test_a_line_names_the_job_it_was_written_in_and_has_its_secrets_scrubbed(redis_url) -> None:
    keep = _Keep()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(keep)
    try:
        logger.warning("outside any job")
        connection = Redis.from_url(redis_url)
        queue = Queue("logging-test", connection=connection)
        job = queue.enqueue(log_inside_a_job, job_id="logging-test-job")
        SimpleWorker([queue], connection=connection).work(burst=True)
        assert job.get_status(refresh=True) == "finished"
        logger.warning("outside again")
    finally:
        logger.removeHandler(keep)
    assert keep.lines == [
        ("-", "outside any job"),
        ("logging-test-job", "inside, access_token=[redacted]"),
        ("-", "outside again"),
    ]
