"""The plugin against recorded Google-shaped traffic (the emulator, or Google; see README).

Each test replays its own cassette; the ``session`` fixture fails a test whose cassette played
nothing. Assertions are about Google's contract (shapes, per-row outcomes, classification), so
they also hold for cassettes recorded against Google, except where marked emulator-only.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from google.ads import datamanager_v1

from platforms.base import ConversionUpload
from platforms.errors import AccessTokenExpired, RateLimited
from platforms.google_ads import explanations as why
from platforms.google_ads import mapping
from platforms.google_ads.datamanager import Ingested

from .conftest import ON_EMULATOR, emulator_call

emulator_only = pytest.mark.skipif(not ON_EMULATOR, reason="relies on the emulator's seed")
GCLID = "Cj0KCQiAsourceloop-cassette-gclid-0001"


def row(row_id: int, goal: str, anchor, **kw) -> ConversionUpload:
    kw.setdefault("click_id", f"{GCLID}-{row_id}")
    kw.setdefault("click_param", "gclid")
    kw.setdefault("currency", "USD")
    return ConversionUpload(
        row_id, goal, anchor - timedelta(hours=3), value=Decimal("120.50"), **kw
    )


@emulator_only
def test_list_accounts_through_managers(platform, session) -> None:
    accounts = platform.list_accounts(session)

    by_id = {a.ref.account_id: a for a in accounts}
    manager = by_id["1112223333"]
    assert manager.is_manager and not manager.eligible
    assert by_id["3334445555"].is_manager and not by_id["3334445555"].eligible
    assert by_id["1234567890"].ref.customer_id is None  # directly accessible
    assert by_id["2345678901"].ref.customer_id == "1112223333"  # only through the manager
    assert by_id["4567890123"].ref.customer_id == "1112223333"  # two levels down
    assert by_id["2345678901"].eligible and by_id["2345678901"].currency == "GBP"
    assert not by_id["5678901234"].eligible  # cancelled
    assert len(accounts) == len(by_id)  # each account once


def test_list_conversion_goals_reads_upload_click_actions(platform, session, account, target):
    goals = platform.list_conversion_goals(session, account)

    by_name = {g.name: g for g in goals}
    assert target.goal_name in by_name
    goal = by_name[target.goal_name]
    assert goal.id.isdigit() and goal.is_active and goal.created_at is None
    if ON_EMULATOR:
        assert "Legacy signup" not in by_name  # removed
        assert "Website purchase" not in by_name  # a WEBPAGE action takes no uploads
        assert goal.enhanced_conversions  # the account has enhanced conversions on


def test_push_delivers_good_rows_and_isolates_refused_ones(
    platform, session, account, target, anchor
) -> None:
    batch = [
        row(1, target.goal_name, anchor),
        row(2, target.goal_name, anchor, currency="ZZZ"),  # well formed, not ISO 4217
        row(3, target.goal_name, anchor),
        row(4, "No such action", anchor),
        row(5, target.goal_name, anchor, click_id=None, click_param=None),
        row(6, target.goal_name, anchor),
    ]

    outcomes = platform.push_conversions(session, account, batch)

    assert [o.row_id for o in outcomes] == [1, 2, 3, 4, 5, 6]
    verdict = {o.row_id: (o.accepted, o.error_code) for o in outcomes}
    assert verdict[1] == verdict[3] == verdict[6] == (True, None)
    assert verdict[2] == (False, "INVALID_CURRENCY_CODE")
    assert verdict[4] == (False, why.LOCAL_GOAL_NOT_FOUND)
    assert verdict[5] == (False, why.LOCAL_NO_IDENTIFIER)
    assert "currency" in outcomes[1].error_message.lower()


@emulator_only
def test_a_conversion_action_too_new_holds_its_rows(platform, session, account, target, anchor):
    outcomes = platform.push_conversions(session, account, [row(1, target.young_goal_name, anchor)])
    assert (outcomes[0].accepted, outcomes[0].error_code) == (False, why.GOAL_TOO_RECENT)
    assert platform.row_error_is_goal_too_recent(outcomes[0].error_code)
    assert platform.row_error_is_retryable(outcomes[0].error_code)


def test_dry_run_validates_without_ingesting(platform, session, account, target, anchor):
    outcomes = platform.validate_conversions(
        session,
        account,
        [row(1, target.goal_name, anchor), row(2, target.goal_name, anchor, currency="ZZZ")],
    )
    assert [(o.accepted, o.error_code) for o in outcomes] == [
        (True, None),
        (False, "INVALID_CURRENCY_CODE"),
    ]


def test_processing_status_is_read_back_per_destination(
    platform, session, account, target, anchor
) -> None:
    emulator_call("/_emulator/processing_delay", {"seconds": 0})
    goal = {g.name: g for g in platform.list_conversion_goals(session, account)}[target.goal_name]
    dest = mapping.destination(
        mapping.GoalTarget(goal.id, goal.name, account.account_id, "ENABLED"), account
    )
    body = mapping.ingest_body(dest, [mapping.conversion_event(row(1, goal.name, anchor), "WEB")])
    datamanager_v1.IngestEventsRequest.from_json(json.dumps(body), ignore_unknown_fields=False)

    answer = platform.data_manager(session).ingest_events(body)
    assert isinstance(answer, Ingested) and answer.request_id

    statuses = platform.request_status(session, answer.request_id)
    assert len(statuses) == 1
    assert statuses[0]["requestStatus"] in ("SUCCESS", "PROCESSING", "PARTIAL_SUCCESS", "FAILED")


@emulator_only
def test_quota_refusal_waits_for_googles_retry_delay(platform, session, account, target, anchor):
    emulator_call(
        "/_emulator/faults",
        {
            "operation": "IngestEvents",
            "kind": "resource_exhausted",
            "count": 1,
            "retry_delay_seconds": 30,
        },
    )
    with pytest.raises(RateLimited) as caught:
        platform.push_conversions(session, account, [row(1, target.goal_name, anchor)])
    assert caught.value.retry_after == 30.0


@emulator_only
def test_an_expired_access_token_is_refreshed_not_a_reconnect(platform, session, account):
    emulator_call("/_emulator/faults", {"operation": "SearchStream", "kind": "expired_token"})
    with pytest.raises(AccessTokenExpired):
        platform.list_conversion_goals(session, account)
