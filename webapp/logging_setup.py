"""Logging: one format everywhere, the RQ job id in every line, secrets scrubbed."""

from __future__ import annotations

import logging
import re
import sys

_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(
        r"(?i)((?:access|refresh|id)_token|client_secret|code_verifier|password|"
        r"developertoken|authorization)([\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"
    ),
]


def scrub(text: str) -> str:
    text = _SECRET_PATTERNS[0].sub(r"\1[redacted]", text)
    return _SECRET_PATTERNS[1].sub(r"\1\2[redacted]", text)


class ContextFilter(logging.Filter):
    """Adds ``job_id`` (the current RQ job, or '-') and scrubs secrets from the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        # No RQ job runs in a process that has not imported RQ (a CLI command, a web dyno), and
        # importing it only to learn that would cost every such process a tenth of a second.
        rq_job = sys.modules.get("rq.job")
        job = rq_job.get_current_job() if rq_job is not None else None  # None outside a job
        record.job_id = job.id if job is not None else "-"
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # msg % args does not fit: logging reports it itself
            return True
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(f, ContextFilter) for h in root.handlers for f in h.filters):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [job=%(job_id)s] %(name)s: %(message)s")
    )
    handler.addFilter(ContextFilter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
