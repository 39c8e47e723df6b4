"""Delivery when one bad event rejects a whole Data Manager request: rows are isolated by what
Google names or by bisection, good rows are delivered, and nothing is sent as a new conversion
twice (every attempt of a row carries the same transactionId)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from platforms.errors import RateLimited, TransientError
from platforms.google_ads import explanations as why
from platforms.google_ads.datamanager import DataManagerClient
from platforms.google_ads.delivery import Delivery

DEST = {
    "operatingAccount": {"accountType": "GOOGLE_ADS", "accountId": "1234567890"},
    "productDestinationId": "42",
}


def _response(status: int, payload: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(payload).encode()
    response.headers["Content-Type"] = "application/json"
    return response


def rejection(violations: list[dict[str, str]] | None = None, reason: str = "INVALID_ARGUMENT"):
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "datamanager.googleapis.com",
            "metadata": {"requestId": "r-1"},
        }
    ]
    if violations:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations}
        )
    return _response(
        400,
        {
            "error": {
                "code": 400,
                "status": "INVALID_ARGUMENT",
                "message": "There was a problem with the request.",
                "details": details,
            }
        },
    )


class ScriptedSession(requests.Session):
    """Answers each ingest with ``decide(body)``; records every body sent."""

    def __init__(self, decide: Callable[[dict[str, Any]], requests.Response]) -> None:
        super().__init__()
        self.decide = decide
        self.bodies: list[dict[str, Any]] = []

    def request(self, method, url, **kwargs):
        body = json.loads(kwargs["data"])
        self.bodies.append(body)
        return self.decide(body)


def events(n: int) -> list[tuple[int, dict[str, Any]]]:
    return [
        (
            i,
            {
                "transactionId": f"sl-{i}",
                "eventTimestamp": "2026-11-30T12:00:00Z",
                "adIdentifiers": {"gclid": f"gclid-{i}"},
            },
        )
        for i in range(n)
    ]


def run(session: ScriptedSession, items, budget: int = 100, dest=DEST) -> dict:
    delivery = Delivery(DataManagerClient(session, "http://dm.invalid/v1"), budget=budget)
    delivery.queue(dest, items)
    return delivery.run()


def refuse_bad(bad: set[int]) -> Callable[[dict[str, Any]], requests.Response]:
    """Google refuses the whole request when it holds a bad event, without saying which."""

    def decide(body: dict[str, Any]) -> requests.Response:
        ids = {int(e["transactionId"][3:]) for e in body["events"]}
        if ids & bad:
            return rejection()
        return _response(200, {"requestId": f"req-{len(ids)}"})

    return decide


def test_bisection_isolates_bad_rows_and_delivers_the_rest() -> None:
    session = ScriptedSession(refuse_bad({3, 17}))

    outcomes = run(session, events(40))

    assert {i for i, o in outcomes.items() if not o.accepted} == {3, 17}
    assert all(outcomes[i].accepted for i in range(40) if i not in (3, 17))
    assert outcomes[3].error_code == "INVALID_ARGUMENT"
    # Bisection: far fewer calls than one per row.
    assert len(session.bodies) <= 2 * 2 * 6 + 1
    # Every accepted row was accepted exactly once, and always with the same transaction id.
    accepted = [
        e["transactionId"]
        for b in session.bodies
        for e in b["events"]
        if not {int(x["transactionId"][3:]) for x in b["events"]} & {3, 17}
    ]
    assert sorted(accepted) == sorted(f"sl-{i}" for i in range(40) if i not in (3, 17))


def test_named_events_are_refused_and_the_rest_sent_again_once() -> None:
    calls = []

    def decide(body):
        calls.append(len(body["events"]))
        if len(calls) == 1:
            return rejection(
                [
                    {
                        "field": "events.events[2].user_data.user_identifiers[0]",
                        "reason": "INVALID_HEX_ENCODING",
                        "description": "not hex",
                    },
                    {
                        "field": "events[5].currency",
                        "reason": "INVALID_CURRENCY_CODE",
                        "description": "bad currency",
                    },
                ]
            )
        return _response(200, {"requestId": "ok"})

    outcomes = run(ScriptedSession(decide), events(8))

    assert calls == [8, 6]
    assert outcomes[2].error_code == "INVALID_HEX_ENCODING"
    assert outcomes[5].error_code == "INVALID_CURRENCY_CODE"
    assert "bad currency" in outcomes[5].error_message
    assert sum(o.accepted for o in outcomes.values()) == 6


def test_destination_refusal_applies_to_every_row_without_splitting() -> None:
    session = ScriptedSession(
        lambda body: rejection(
            [
                {
                    "field": "destinations[0].product_destination_id",
                    "reason": "INVALID_CONVERSION_ACTION_ID",
                    "description": "unknown",
                }
            ]
        )
    )

    outcomes = run(session, events(10))

    assert len(session.bodies) == 1
    assert {o.error_code for o in outcomes.values()} == {"INVALID_CONVERSION_ACTION_ID"}


def test_too_recent_conversion_action_is_a_retryable_destination_refusal() -> None:
    session = ScriptedSession(
        lambda body: rejection(reason="CONVERSION_ACTION_TOO_RECENTLY_CREATED")
    )
    outcomes = run(session, events(4))
    assert len(session.bodies) == 1
    assert {o.error_code for o in outcomes.values()} == {why.GOAL_TOO_RECENT}


def test_failure_before_any_delivery_raises_for_the_host_to_retry() -> None:
    session = ScriptedSession(
        lambda body: _response(
            429,
            {
                "error": {
                    "code": 429,
                    "status": "RESOURCE_EXHAUSTED",
                    "message": "quota",
                    "details": [
                        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
                    ],
                }
            },
        )
    )
    with pytest.raises(RateLimited) as caught:
        run(session, events(3))
    assert caught.value.retry_after == 37.0


def test_failure_after_a_delivery_keeps_the_delivered_rows() -> None:
    answers = iter(
        [
            rejection(),
            _response(200, {"requestId": "a"}),
            _response(503, {"error": {"code": 503, "status": "UNAVAILABLE"}}),
        ]
    )
    outcomes = run(ScriptedSession(lambda body: next(answers)), events(4))

    accepted = [i for i, o in outcomes.items() if o.accepted]
    assert accepted == [0, 1]
    assert {outcomes[2].error_code, outcomes[3].error_code} == {why.LOCAL_INTERRUPTED}
    assert why.LOCAL_INTERRUPTED in why.RETRYABLE_ROW_CODES


def test_split_budget_leaves_undecided_rows_for_later() -> None:
    session = ScriptedSession(refuse_bad(set(range(0, 64, 2))))
    outcomes = run(session, events(64), budget=5)
    assert len(session.bodies) == 5
    unresolved = [i for i, o in outcomes.items() if o.error_code == why.LOCAL_UNRESOLVED]
    assert unresolved and len(outcomes) == 64


def test_transient_server_error_first_raises() -> None:
    session = ScriptedSession(lambda body: _response(500, {"error": {"code": 500}}))
    with pytest.raises(TransientError):
        run(session, events(2))


def test_googles_words_are_kept_and_worded_once() -> None:
    text = why.explain("INVALID_CURRENCY_CODE", "The currency code is not supported.")
    assert text.startswith("Google does not accept this currency code")
    assert text.endswith("(Google: The currency code is not supported.)")
    assert why.explain("INVALID_CURRENCY_CODE", text) == text  # the host may word it again
    assert why.explain(why.LOCAL_NO_IDENTIFIER, None) == why.EXPLANATIONS[why.LOCAL_NO_IDENTIFIER]
    assert why.explain("SOMETHING_NEW", "raw words") == "Google rejected this conversion: raw words"
