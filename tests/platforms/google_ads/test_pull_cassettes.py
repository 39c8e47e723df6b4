"""The plugin's pull against recorded Google-shaped traffic (emulator or Google; README,
"Cassettes"). Assertions are about Google's contract, so they hold for cassettes re-recorded
against a real account too, except where marked emulator-only."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest

from platforms.base import DateWindow
from platforms.errors import AccessTokenExpired, RateLimited
from platforms.google_ads.plugin import GoogleAdsPlatform

from .recording import (
    RECORDING,
    TARGET,
    arm_fault,
    cassette_name,
    cassette_session,
    recorded_day,
    recorded_on_emulator,
)

emulator_only = pytest.mark.skipif(
    RECORDING and not TARGET.on_emulator, reason="relies on the emulator's seed or faults"
)


@pytest.fixture
def platform() -> GoogleAdsPlatform:
    return GoogleAdsPlatform(TARGET.settings)


@pytest.fixture
def session(request, platform):
    with cassette_session(cassette_name(request), platform) as recorded:
        yield recorded


@pytest.fixture
def window(request) -> DateWindow:
    end = recorded_day(cassette_name(request)) - timedelta(days=1)
    return DateWindow(end - timedelta(days=13), end)


@pytest.fixture
def seeded(request) -> bool:
    """The cassette is the emulator's: assertions about its seed apply."""
    return recorded_on_emulator(cassette_name(request))


def test_pull_structure_covers_every_campaign_type_at_its_levels(platform, session, seeded):
    entities = list(platform.pull_structure(session, TARGET.account))

    campaigns = {e.id: e for e in entities if e.level == "campaign"}
    groups = {e.id: e for e in entities if e.level == "ad_group"}
    ads = [e for e in entities if e.level == "ad"]
    assert campaigns and all(c.kind and c.status for c in campaigns.values())
    assert all(g.parent_id in campaigns for g in groups.values())
    pmax = {cid for cid, c in campaigns.items() if c.kind == "PERFORMANCE_MAX"}
    for group in groups.values():  # asset groups exactly under Performance Max
        assert (group.kind == "ASSET_GROUP") == (group.parent_id in pmax)
    assert all(a.parent_id in groups and a.id.startswith(f"{a.parent_id}~") for a in ads)
    assert all(groups[a.parent_id].parent_id not in pmax for a in ads)
    if seeded:
        assert pmax and {"SEARCH", "SHOPPING"} <= {c.kind for c in campaigns.values()}
        assert any(g.kind == "ASSET_GROUP" for g in groups.values()) and ads


def test_pull_insights_gives_one_row_per_entity_and_day_in_the_window(platform, session, window):
    metrics = list(platform.pull_insights(session, TARGET.account, window))

    keys = [(m.level, m.entity_id, m.day) for m in metrics]
    assert len(keys) == len(set(keys))
    assert metrics and {m.level for m in metrics} <= {"campaign", "ad_group", "ad"}
    assert all(window.start <= m.day <= window.end for m in metrics)
    assert len({m.currency for m in metrics}) == 1 and len(metrics[0].currency) == 3
    for m in metrics:
        assert m.impressions >= 0 and m.clicks >= 0 and m.spend >= 0
        assert m.spend == m.spend.quantize(Decimal("0.000001"))  # micros, exactly
    if seeded:
        # The emulator's campaigns are the sum of their ad groups or asset groups, day by day.
        structure = {e.id: e for e in platform.pull_structure(session, TARGET.account)}
        children: dict = defaultdict(Decimal)
        for m in metrics:
            if m.level == "ad_group":
                children[(structure[m.entity_id].parent_id, m.day)] += m.spend
        campaigns = {(m.entity_id, m.day): m.spend for m in metrics if m.level == "campaign"}
        assert children and all(campaigns[key] == spend for key, spend in children.items())


@emulator_only
def test_google_quota_error_asks_to_retry_after_its_delay(platform, session):
    arm_fault("SearchStream", "resource_exhausted")

    with pytest.raises(RateLimited) as caught:
        list(platform.pull_structure(session, TARGET.account))
    assert caught.value.code == "RESOURCE_EXHAUSTED" and caught.value.retry_after == 30


@emulator_only
def test_an_expired_access_token_is_refreshed_not_reconnected(platform, session):
    arm_fault("SearchStream", "expired_token")

    with pytest.raises(AccessTokenExpired) as caught:
        list(platform.pull_structure(session, TARGET.account))
    assert caught.value.code == "OAUTH_TOKEN_EXPIRED"
