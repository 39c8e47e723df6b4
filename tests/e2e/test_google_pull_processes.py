"""The Google Ads pull through real processes: an RQ worker (``python -m jobs.worker``), a real
Redis and the Google emulator process. The stored hierarchy and daily totals equal what the
emulator serves (read here with plain HTTP, not the plugin's client), Performance Max shows its
asset groups, a re-pull duplicates nothing, and a quota error or an expired token mid-pull is
ridden out by the job's retry (scheduled through the real scheduler process)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from tests.conftest import google_environ, make_world, platform_app, test_environ
from tests.helpers.connect import pkce_session
from tests.helpers.processes import (
    emulator_process,
    python_process,
    reset_emulator,
    stop,
    wait_for,
)
from webapp.extensions import db
from webapp.models import AdEntity, Connection, InsightDaily, InsightSyncState, JobRun

pytestmark = pytest.mark.e2e

CUSTOMER = "1234567890"  # Fabrikam Outdoor US, a client of the agency's manager
MANAGER = "1112223333"
USER = "alex@fabrikam-agency.example"
PUBLIC_URL = "http://127.0.0.1:5000"


@pytest.fixture(scope="module")
def google_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with emulator_process(
        "platforms.google_ads.emulator",
        {"GOOGLE_EMULATOR_REDIRECT_URIS": f"{PUBLIC_URL}/setup/platforms/google_ads/callback"},
        tmp_path_factory.mktemp("google-emulator") / "emulator.log",
        "the Google emulator",
        timeout=30,
    ) as url:
        yield url


@pytest.fixture
def google(google_emulator: str) -> str:
    return reset_emulator(google_emulator)


@pytest.fixture
def g_app(_migrated: str, redis_url: str, google: str):
    with platform_app(_migrated, redis_url, google_environ(google), PUBLIC_URL) as app:
        yield app


@pytest.fixture
def env(_migrated: str, redis_url: str, google: str) -> dict[str, str]:
    return test_environ(
        _migrated,
        redis_url,
        SCHEDULER_INTERVAL="1",  # retries are scheduled: the scheduler moves them within 1 s
        JOB_RETRY_SCALE="0.01",  # Google's 30 s retryDelay → 0.3 s
        PUBLIC_URL=PUBLIC_URL,
        **google_environ(google),
    )


def grant() -> dict:
    """Google's authorization-code flow with PKCE, offline; the emulator consents for the user."""
    from webapp.extensions import platform_registry

    platform = platform_registry().get("google_ads")
    redirect_uri = f"{PUBLIC_URL}/setup/platforms/google_ads/callback"
    session = pkce_session(
        platform.oauth_spec(), platform.config.emulator_url, redirect_uri, USER,
        access_type="offline", prompt="consent",
    )  # fmt: skip
    return dict(session.token)


def connect(world) -> int:
    """Connect the customer the way the account picker does, through the host's services."""
    from webapp.connections import credentials as grants
    from webapp.connections import lifecycle as connections
    from webapp.extensions import platform_registry
    from webapp.models import Membership

    owner = db.session.get(Membership, world.memberships["admin"])
    platform = platform_registry().get("google_ads")
    credential = grants.create_pending(platform.key, world.workspace_id, owner.user_id, grant())
    accounts = platform.list_accounts(grants.session_for_credential(credential.id))
    account = next(a for a in accounts if a.ref.account_id == CUSTOMER)
    connection = connections.connect_account(owner, credential, account)
    db.session.commit()
    return connection.id


def gaql(emulator: str, token: str, query: str) -> list[dict]:
    """Rows straight from the emulator: one HTTP call, the whole array parsed at once."""
    response = requests.post(
        f"{emulator}/v26/customers/{CUSTOMER}/googleAds:searchStream",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}", "login-customer-id": MANAGER},
        timeout=60,
    )
    response.raise_for_status()
    return [row for batch in json.loads(response.content) for row in batch.get("results", [])]


def expected_totals(emulator: str, token: str, start: str, end: str) -> dict:
    """(level, entity) → [impressions, clicks, cost in currency units] over the window."""
    between = f"WHERE segments.date BETWEEN '{start}' AND '{end}'"
    selects = {
        ("campaign", "campaign"): "campaign.id",
        ("ad_group", "ad_group"): "ad_group.id",
        ("ad_group", "asset_group"): "asset_group.id",
        ("ad", "ad_group_ad"): "ad_group_ad.ad.id, ad_group_ad.ad_group",
    }
    totals: dict = defaultdict(lambda: [0, 0, Decimal(0)])
    for (level, resource), ids in selects.items():
        query = (  # GAQL, not SQL
            f"SELECT {ids}, segments.date, metrics.impressions, metrics.clicks, "  # noqa: S608
            f"metrics.cost_micros FROM {resource} {between}"
        )
        for row in gaql(emulator, token, query):
            if resource == "ad_group_ad":
                link = row["adGroupAd"]
                key = f"{link['adGroup'].rsplit('/', 1)[-1]}~{link['ad']['id']}"
            else:
                key = row[
                    {"ad_group": "adGroup", "asset_group": "assetGroup"}.get(resource, resource)
                ]["id"]
            metrics = row.get("metrics", {})
            total = totals[(level, key)]
            total[0] += int(metrics.get("impressions", 0))
            total[1] += int(metrics.get("clicks", 0))
            total[2] += Decimal(int(metrics.get("costMicros", 0))) / 1_000_000
    return {k: v for k, v in totals.items() if any(v)}


def stored_totals(connection_id: int) -> dict:
    db.session.expire_all()
    rows = db.session.execute(
        select(
            InsightDaily.level,
            InsightDaily.entity_id,
            func.sum(InsightDaily.impressions),
            func.sum(InsightDaily.clicks),
            func.sum(InsightDaily.spend),
        )
        .where(InsightDaily.connection_id == connection_id)
        .group_by(InsightDaily.level, InsightDaily.entity_id)
    ).all()
    db.session.commit()
    return {
        (level, entity): [int(i), int(c), Decimal(str(s)).quantize(Decimal("0.0001"))]
        for level, entity, i, c, s in rows
        if i or c or s
    }


def sync_state(connection_id: int) -> InsightSyncState | None:
    db.session.expire_all()
    state = db.session.get(InsightSyncState, connection_id)
    db.session.commit()
    return state


def pull_runs(connection_id: int) -> dict[int, str]:
    db.session.expire_all()
    runs = db.session.execute(
        select(JobRun.id, JobRun.status).where(
            JobRun.kind == "pull", JobRun.connection_id == connection_id
        )
    ).all()
    db.session.commit()
    return dict(runs)


def pulled(connection_id: int) -> bool:
    """Every pull of the connection so far has ended, and the last one succeeded."""
    runs = pull_runs(connection_id)
    state = sync_state(connection_id)
    return (
        bool(runs)
        and all(s in (JobRun.SUCCEEDED, JobRun.FAILED) for s in runs.values())
        and state is not None
        and state.last_status == InsightSyncState.SUCCEEDED
    )


def test_a_pull_through_a_real_worker_stores_what_google_serves(
    g_app, google, env, redis, tmp_path: Path
) -> None:
    from webapp.background.enqueue import enqueue_pull

    world = make_world()
    connection_id = connect(world)
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    try:
        enqueue_pull(connection_id)
        wait_for(lambda: pulled(connection_id), timeout=120, interval=0.5, what="the pull")
    finally:
        stop(worker)

    state = sync_state(connection_id)
    start, end = state.window_start.isoformat(), state.window_end.isoformat()
    assert (state.window_end - state.window_start).days == 89  # the first pull backfills 90 days
    # The days are the account's own: its time zone is declared on the connection.
    seeded = requests.get(f"{google}/_emulator/state", timeout=10).json()["customers"]
    zone = next(c["time_zone"] for c in seeded if c["id"] == CUSTOMER)
    assert db.session.get(Connection, connection_id).time_zone == zone == "America/Los_Angeles"
    token = grant()["access_token"]
    expected = expected_totals(google, token, start, end)
    quantized = {k: [i, c, s.quantize(Decimal("0.0001"))] for k, (i, c, s) in expected.items()}
    assert expected, "the emulator served no metrics for the window"
    assert stored_totals(connection_id) == quantized
    # And per level against the emulator's own totals (its control API, not the Ads API).
    stored = stored_totals(connection_id)
    resources = {"campaign": ["campaign"], "ad_group": ["ad_group", "asset_group"]}
    resources["ad"] = ["ad_group_ad"]
    for level, names in resources.items():
        totals = [
            requests.get(
                f"{google}/_emulator/metrics",
                params={"customer_id": CUSTOMER, "level": name, "start": start, "end": end},
                timeout=10,
            ).json()
            for name in names
        ]
        mine = [v for (lv, _), v in stored.items() if lv == level]
        assert sum(t["impressions"] for t in totals) == sum(v[0] for v in mine) > 0
        assert sum(t["clicks"] for t in totals) == sum(v[1] for v in mine)
        micros = sum(t["cost_micros"] for t in totals)
        assert Decimal(micros) / 1_000_000 == sum(v[2] for v in mine)

    entities = {
        (e.level, e.entity_id): e
        for e in db.session.scalars(select(AdEntity).where(AdEntity.connection_id == connection_id))
    }
    kinds = {e.kind for (level, _), e in entities.items() if level == "campaign"}
    assert "PERFORMANCE_MAX" in kinds and "SEARCH" in kinds
    pmax = {eid for (level, eid), e in entities.items() if e.kind == "PERFORMANCE_MAX"}
    asset_groups = [e for (level, _), e in entities.items() if e.kind == "ASSET_GROUP"]
    assert asset_groups and all(g.parent_id in pmax for g in asset_groups)
    assert not any(e.parent_id in pmax for (level, _), e in entities.items() if level == "ad")
    ads = [e for (level, _), e in entities.items() if level == "ad"]
    assert ads and all(e.entity_id.startswith(f"{e.parent_id}~") for e in ads)
    # Every metric row belongs to a pulled entity.
    assert set(stored_totals(connection_id)) <= set(entities)


def test_a_repull_overwrites_in_place_and_rides_out_quota_and_expired_tokens(
    g_app, google, env, redis, tmp_path: Path
) -> None:
    from webapp.background.enqueue import enqueue_pull, enqueue_pull_now

    world = make_world()
    connection_id = connect(world)
    worker = python_process(["-m", "jobs.worker"], env, tmp_path / "worker.log")
    scheduler = python_process(["-m", "jobs.scheduler"], env, tmp_path / "scheduler.log")
    try:
        enqueue_pull(connection_id)
        wait_for(lambda: pulled(connection_id), timeout=120, interval=0.5, what="first pull")
        first = stored_totals(connection_id)
        rows_before = db.session.scalar(select(func.count()).select_from(InsightDaily))
        db.session.commit()
        # The next pull meets Google's short-term quota once and an access token that Google
        # already treats as expired: the job waits Google's retryDelay, refreshes, and finishes.
        for fault in (
            {"operation": "SearchStream", "kind": "resource_exhausted", "count": 1},
            {"operation": "SearchStream", "kind": "expired_token", "count": 1},
        ):
            requests.post(f"{google}/_emulator/faults", json=fault, timeout=10).raise_for_status()
        run_id = enqueue_pull_now(connection_id, world.workspace_id)
        assert run_id is not None
        wait_for(
            lambda: pull_runs(connection_id).get(run_id) in (JobRun.SUCCEEDED, JobRun.FAILED),
            timeout=180,
            interval=0.5,
            what="the re-pull",
        )
        assert pull_runs(connection_id)[run_id] == JobRun.SUCCEEDED
    finally:
        stop(scheduler)
        stop(worker)
    state = sync_state(connection_id)
    assert (state.window_end - state.window_start).days == 13  # then a rolling 14 days
    assert db.session.scalar(select(func.count()).select_from(InsightDaily)) == rows_before
    assert stored_totals(connection_id) == first
    calls = requests.get(f"{google}/_emulator/calls", timeout=10).json()["calls"]
    statuses = [c["status"] for c in calls if c.get("operation") == "SearchStream"]
    assert 429 in statuses and 401 in statuses
    assert requests.get(f"{google}/_emulator/faults", timeout=10).json()["faults"] == []
