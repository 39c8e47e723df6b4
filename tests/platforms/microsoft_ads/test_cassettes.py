"""The plugin against recorded Microsoft-shaped traffic (emulator or sandbox; see README).

Each test replays its own cassette; the ``session`` fixture fails a test whose cassette played
nothing. Assertions are about Microsoft's contract (shapes, per-row mapping, classification), so
they also hold for cassettes re-recorded against the sandbox, except where marked emulator-only.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from platforms.base import (
    AccountRef,
    ConversionAdjustment,
    ConversionUpload,
    DateWindow,
)
from platforms.errors import RateLimited, ReconnectRequired, TransientError
from platforms.microsoft_ads.explanations import LOCAL_NO_IDENTIFIER
from platforms.microsoft_ads.faults import AccessTokenExpired, CredentialsRejected

from .conftest import ON_EMULATOR, arm_fault, hours_before

CLICK = "0b1a2c3d4e5f60718293a4b5c6d7e8f9"
emulator_only = pytest.mark.skipif(not ON_EMULATOR, reason="relies on the emulator's seed")


def test_list_accounts_groups_by_manager_and_marks_ineligible(platform, session, target):
    accounts = platform.list_accounts(session)

    managers = [a for a in accounts if a.is_manager]
    ad_accounts = [a for a in accounts if not a.is_manager]
    assert managers and ad_accounts
    assert all(not m.eligible and "manager account" in m.ineligible_reason for m in managers)
    # Every ad account follows its manager's row and carries the CustomerId header value.
    order = [a.ref.account_id for a in accounts]
    for acc in ad_accounts:
        assert acc.ref.customer_id == acc.manager_id
        assert order.index(acc.manager_id) < order.index(acc.ref.account_id)
        assert acc.currency and acc.name
    ours = {a.ref.account_id: a for a in ad_accounts}
    assert target.account.account_id in ours
    assert ours[target.account.account_id].eligible
    if ON_EMULATOR:
        paused = ours[target.other_account.account_id]
        assert not paused.eligible and "paused" in paused.ineligible_reason


def test_list_conversion_goals_reads_offline_goals(platform, session, account, target):
    goals = platform.list_conversion_goals(session, account)

    by_name = {g.name: g for g in goals}
    assert target.goal_name in by_name
    goal = by_name[target.goal_name]
    assert goal.id.isdigit() and goal.is_active and goal.count_type in ("All", "Unique")
    assert goal.created_at is None  # Microsoft does not expose it
    if ON_EMULATOR:
        assert by_name["Qualified lead"].enhanced_conversions  # customer-scope goal, enhanced
        assert by_name["Partner sale"].external_attribution
        assert not by_name["Legacy signup"].is_active


def test_push_conversions_maps_partial_errors_to_rows(platform, session, account, target, anchor):
    batch = [
        ConversionUpload(
            1, target.goal_name, hours_before(anchor, 3), CLICK, Decimal("1250.50"), "usd"
        ),
        ConversionUpload(2, "No such goal", hours_before(anchor, 3), CLICK),
        ConversionUpload(3, target.goal_name, hours_before(anchor, 3)),  # nothing to match on
        ConversionUpload(4, target.goal_name, anchor + timedelta(days=2), CLICK),
        ConversionUpload(5, target.young_goal_name, hours_before(anchor, 2), CLICK),
    ]

    outcomes = platform.push_conversions(session, account, batch)

    assert [o.row_id for o in outcomes] == [1, 2, 3, 4, 5]
    assert outcomes[0].accepted and outcomes[0].error_code is None
    assert (outcomes[1].accepted, outcomes[1].error_code) == (False, "5606")
    assert "goal" in outcomes[1].error_message
    assert (outcomes[2].accepted, outcomes[2].error_code) == (False, LOCAL_NO_IDENTIFIER)
    assert (outcomes[3].accepted, outcomes[3].error_code) == (False, "5614")
    if ON_EMULATOR:
        assert (outcomes[4].accepted, outcomes[4].error_code) == (False, "5615")
        assert platform.row_error_is_retryable(outcomes[4].error_code)


def test_push_adjustments_restate_and_retract(platform, session, account, target, anchor):
    original = hours_before(anchor, 30)
    batch = [
        ConversionAdjustment(
            1,
            "restate",
            target.goal_name,
            original,
            hours_before(anchor, 2),
            CLICK,
            Decimal("900"),
            "USD",
        ),  # fmt: skip
        ConversionAdjustment(
            2, "retract", target.goal_name, original, hours_before(anchor, 1), CLICK
        ),
        ConversionAdjustment(
            3, "retract", "No such goal", original, hours_before(anchor, 1), CLICK
        ),
    ]

    outcomes = platform.push_adjustments(session, account, batch)

    assert [o.accepted for o in outcomes[:2]] == [True, True]
    assert (outcomes[2].accepted, outcomes[2].error_code) == (False, "5606")


def test_pull_structure_returns_every_campaign_type_with_children(platform, session, account):
    entities = list(platform.pull_structure(session, account))

    campaigns = {e.id: e for e in entities if e.level == "campaign"}
    groups = {e.id: e for e in entities if e.level == "ad_group"}
    ads = [e for e in entities if e.level == "ad"]
    assert campaigns and groups and ads
    assert all(g.parent_id in campaigns for g in groups.values())
    assert all(a.parent_id in groups for a in ads)
    assert all(a.name for a in ads)
    if ON_EMULATOR:
        assert {"Search", "Shopping", "Audience", "PerformanceMax"} <= {
            c.kind for c in campaigns.values()
        }


def test_pull_insights_yields_daily_metrics_per_level(platform, session, account, anchor):
    end = anchor.date() - timedelta(days=1)
    window = DateWindow(end - timedelta(days=6), end)

    rows = list(platform.pull_insights(session, account, window))

    levels = {r.level for r in rows}
    assert levels == {"campaign", "ad_group", "ad"}
    assert all(window.start <= r.day <= window.end for r in rows)
    assert all(isinstance(r.spend, Decimal) and r.currency for r in rows)
    keys = [(r.level, r.entity_id, r.day) for r in rows]
    assert len(keys) == len(set(keys))  # one row per entity and day
    campaign_clicks = sum(r.clicks for r in rows if r.level == "campaign")
    assert campaign_clicks >= sum(r.clicks for r in rows if r.level == "ad_group") > 0


def test_auto_tagging_round_trip(platform, session, account):
    assert platform.get_auto_tagging(session, account) is True
    platform.set_auto_tagging(session, account, False)
    assert platform.get_auto_tagging(session, account) is False
    platform.set_auto_tagging(session, account, True)
    assert platform.get_auto_tagging(session, account) is True


def test_offline_conversion_diagnostics_splits_long_windows(platform, session, account, anchor):
    goals = platform.list_conversion_goals(session, account)
    end = anchor.date()
    window = DateWindow(end - timedelta(days=9), end)  # two 7-day slices

    result = platform.offline_conversion_diagnostics(
        session, account, [g.id for g in goals], window
    )

    assert {d.goal_id for d in result} <= {g.id for g in goals}
    for diag in result:
        assert diag.success_count >= 0 and diag.unattributed_count >= 0
        assert all(window.start <= day.day <= window.end for day in diag.days)


@emulator_only
def test_throttling_is_rate_limited_with_a_wait(platform, session, account):
    arm_fault("GetAccountProperties", "throttle")
    with pytest.raises(RateLimited) as caught:
        platform.get_auto_tagging(session, account)
    assert caught.value.code == "117" and caught.value.retry_after >= 60
    assert "TrackingId" in str(caught.value)


@emulator_only
def test_expired_access_token_is_refreshable_not_a_reconnect(platform, session, account):
    arm_fault("GetConversionGoalsByIds", "expired_token")
    with pytest.raises(AccessTokenExpired) as caught:
        platform.list_conversion_goals(session, account)
    assert not isinstance(caught.value, ReconnectRequired)
    assert "replayed-access-token" not in str(caught.value)


@emulator_only
def test_invalid_token_needs_reconnect(platform, session, account):
    arm_fault("GetCampaignsByAccountId", "invalid_token")
    with pytest.raises(CredentialsRejected):
        list(platform.pull_structure(session, account))


@emulator_only
def test_server_error_is_transient(platform, session, account, target, anchor):
    arm_fault("ApplyOfflineConversions", "internal")
    row = ConversionUpload(1, target.goal_name, hours_before(anchor, 3), CLICK)
    with pytest.raises(TransientError):
        platform.push_conversions(session, account, [row])


@emulator_only
def test_report_error_and_concurrency_limit_are_retried(platform, session, account, anchor):
    arm_fault("SubmitGenerateReport", "too_many_reports")
    arm_fault("PollGenerateReport", "report_error")
    slept: list[float] = []
    platform.sleep = slept.append
    end = anchor.date() - timedelta(days=1)

    rows = list(platform.pull_insights(session, account, DateWindow(end, end)))

    assert any(r.level == "campaign" for r in rows)
    assert 30.0 in slept  # the 207 back-off


@emulator_only
def test_user_without_access_needs_reconnect(platform, session):
    other_customer = AccountRef("80000021", "70000002")
    with pytest.raises(ReconnectRequired):
        platform.get_auto_tagging(session, other_customer)
