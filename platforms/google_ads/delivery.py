"""Delivery of events to the Data Manager API when one bad event rejects the whole request.

``Delivery`` sends queued (destination, events) parts and splits a refused part until each
refused event is isolated, so every good event is delivered; it does no I/O of its own beyond the
client it is given, so the splitting is tested with a scripted client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from platforms.base import PushOutcome
from platforms.errors import PlatformError
from platforms.google_ads import explanations as why
from platforms.google_ads import mapping
from platforms.google_ads.datamanager import DataManagerClient, Ingested, Rejection, first_violation

log = logging.getLogger(__name__)

Items = list[tuple[int, dict[str, Any]]]


def refused(row_id: int, code: str, google_message: str | None = None) -> PushOutcome:
    """The row's outcome carries Google's own words when Google gave some (the host words them
    through ``explain_error``), else this plugin's explanation."""
    return PushOutcome(row_id, False, code, google_message or why.explain(code))


@dataclass
class Delivery:
    """Send queued (destination, events) parts; a refused part is split until each refused event
    is alone (or named by Google), so every good event is delivered.

    - Google names the refused events (``fieldViolations`` with ``events[i]``): those are
      refused, the rest is sent again as one part.
    - The refusal is about the destination (conversion action, account, terms): every event of
      the part gets it; splitting would not help.
    - Otherwise the part is halved (bisection) until single events remain.
    Every event carries its ``transactionId``, so an event sent twice is never two conversions.
    A failure that is not a refusal (rate limit, server error) raises when nothing has been
    delivered yet (the host retries the whole batch); after a delivery, the undelivered events
    get a retryable outcome instead, so the delivered ones are recorded as sent.
    """

    client: DataManagerClient
    budget: int
    validate_only: bool = False
    parts: list[tuple[dict[str, Any], Items]] = field(default_factory=list)
    outcomes: dict[int, PushOutcome] = field(default_factory=dict)
    delivered: int = 0
    calls: int = 0

    def queue(self, dest: dict[str, Any], items: Items) -> None:
        for start in range(0, len(items), mapping.MAX_EVENTS):
            self.parts.append((dest, items[start : start + mapping.MAX_EVENTS]))

    def run(self) -> dict[int, PushOutcome]:
        while self.parts:
            dest, items = self.parts.pop()
            if self.calls >= self.budget:
                for row_id, _ in items:
                    self.outcomes[row_id] = refused(row_id, why.LOCAL_UNRESOLVED)
                continue
            self.calls += 1
            body = mapping.ingest_body(
                dest, [event for _, event in items], validate_only=self.validate_only
            )
            try:
                answer = self.client.ingest_events(body)
            except PlatformError as exc:
                if not self.delivered:
                    raise
                log.info("google ingest interrupted after %s delivered: %s", self.delivered, exc)
                self._interrupt(items)
                continue
            if isinstance(answer, Ingested):
                self.delivered += len(items)
                # The request id is the receipt the processing status is asked for later
                # (a validate-only request has none that Google keeps).
                receipt = None if self.validate_only else answer.request_id
                for row_id, _ in items:
                    self.outcomes[row_id] = PushOutcome(row_id, True, receipt=receipt)
                continue
            self._refusal(dest, items, answer)
        return self.outcomes

    def _interrupt(self, items: Items) -> None:
        for _, rest in [(None, items), *self.parts]:
            for row_id, _ in rest:
                self.outcomes[row_id] = refused(row_id, why.LOCAL_INTERRUPTED)
        self.parts.clear()

    def _refusal(self, dest: dict[str, Any], items: Items, answer: Rejection) -> None:
        error = answer.error
        if answer.destination_level:
            for row_id, _ in items:
                self.outcomes[row_id] = refused(row_id, error.code, error.message or None)
            return
        named = {i for i in answer.event_indexes if 0 <= i < len(items)}
        if named:
            for index in sorted(named):
                row_id = items[index][0]
                violation = first_violation(answer, index)
                code = (violation.reason if violation else "") or error.code
                text = (violation.description if violation else "") or error.message
                self.outcomes[row_id] = refused(row_id, code, text or None)
            rest = [item for i, item in enumerate(items) if i not in named]
            if rest:
                self.parts.append((dest, rest))
            return
        if len(items) == 1:
            row_id = items[0][0]
            self.outcomes[row_id] = refused(row_id, error.code, error.message or None)
            return
        middle = len(items) // 2
        self.parts.append((dest, items[middle:]))
        self.parts.append((dest, items[:middle]))
