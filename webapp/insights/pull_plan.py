"""When each of the day's pulls starts: the daily fan-out spreads one customer's pulls over a
window so that most of them find a report slot free when they start.

A platform that declares a report limit (``ReportLimits.in_flight_per_customer``, cap ``c``)
gets its pulls grouped by report-slot key (one per customer, ``report_limits.gate_for``). A
group of ``n`` pulls, each expected to take ``d`` seconds, starts one pull every ``s`` seconds
with ``s = (d + r) / (c - j)``, each start pushed later by a random ``[0, j·s]`` (``j``, the
jitter, a fraction of the spacing below 1; ``r``, the resolution: rq-scheduler keeps whole
seconds and the scheduler process looks for due jobs every ``SCHEDULER_INTERVAL``, so a start
lands up to ``r`` late). Then any ``c + 1`` consecutive starts of a group are at least
``d + r`` apart whatever the jitter draws, so a pull that takes the expected time is done before
the pull ``c`` places behind it starts: the plan itself never asks for more than ``c`` at once. A group that does not fit the window (``(n - 1 + j)·s`` past its end) is squeezed into
it; the slots (``jobs.report_slots``) then hold the cap and defer what starts too early.

Pulls of a platform with no declared limit start at once, as before.

``d`` is measured: the median of the platform's recent daily pulls (``InsightSyncState``, a
connection's last pull, from start to end, when it succeeded and was not the first backfill),
or ``DEFAULT_PULL_SECONDS`` when there are too few.
"""

from __future__ import annotations

import random
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from webapp.extensions import db
from webapp.insights.report_limits import gate_for
from webapp.models import Connection, InsightSyncState
from webapp.models.types import utcnow

DEFAULT_PULL_SECONDS = 60.0  # a daily pull's duration until a platform has recent ones
MIN_SAMPLES = 3  # fewer recent pulls than this: the default, not a median of one or two
RECENT = timedelta(days=7)
PULL_SECONDS_RANGE = (1.0, 1800.0)  # a measured median outside this is clamped into it
DEFAULT_WINDOW_SECONDS = 4 * 3600.0  # 05:00–09:00 UTC
DEFAULT_JITTER = 0.2  # of one group's spacing


@dataclass(frozen=True)
class PullTarget:
    connection_id: int
    group: str | None  # report-slot key (platform and customer); None: no declared limit
    cap: int | None  # pulls of the group at once
    expected_seconds: float


@dataclass(frozen=True)
class PlannedPull:
    connection_id: int
    delay: float  # seconds after the fan-out
    group: str | None


@dataclass(frozen=True)
class PullPlan:
    pulls: tuple[PlannedPull, ...]
    squeezed: tuple[str, ...]  # groups that did not fit the window at their cap

    @property
    def span(self) -> float:
        return max((p.delay for p in self.pulls), default=0.0)


def plan_pulls(
    targets: Iterable[PullTarget],
    *,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    jitter: float = DEFAULT_JITTER,
    resolution: float = 1.0,
    rng: random.Random | None = None,
) -> PullPlan:
    """Every target once, with its delay in ``[0, window_seconds]`` (see the module doc)."""
    if not 0 <= jitter < 1:
        raise ValueError("jitter must be in [0, 1)")
    if window_seconds <= 0:
        raise ValueError("the window must be positive")
    rng = rng or random.Random()
    groups: dict[str | None, list[PullTarget]] = defaultdict(list)
    seen: set[int] = set()
    for target in targets:
        if target.connection_id in seen:
            continue
        seen.add(target.connection_id)
        groups[target.group if target.cap else None].append(target)
    pulls = [PlannedPull(t.connection_id, 0.0, None) for t in groups.pop(None, [])]
    squeezed: list[str] = []
    for group in sorted(groups, key=str):
        members = sorted(groups[group], key=lambda t: t.connection_id)
        cap = min(t.cap or 1 for t in members)
        expected = max(t.expected_seconds for t in members)
        spacing = (expected + resolution) / (cap - jitter)
        # The last start is at most (n - 1 + jitter) spacings out; keep that inside the window.
        reach = (len(members) - 1 + jitter) * spacing
        if reach > window_seconds:
            spacing = window_seconds / (len(members) - 1 + jitter)
            squeezed.append(group)
        for index, target in enumerate(members):
            delay = index * spacing + rng.uniform(0, jitter * spacing)
            pulls.append(PlannedPull(target.connection_id, min(delay, window_seconds), group))
    return PullPlan(tuple(pulls), tuple(squeezed))


def expected_pull_seconds(default: float = DEFAULT_PULL_SECONDS) -> dict[str, float]:
    """Per platform key, the median duration of recent successful daily pulls (see module doc);
    platforms with fewer than ``MIN_SAMPLES`` are absent (the caller uses ``default``)."""
    rows = db.session.execute(
        select(
            Connection.platform_key,
            InsightSyncState.last_started_at,
            InsightSyncState.last_finished_at,
            InsightSyncState.backfilled_at,
        )
        .join(Connection, Connection.id == InsightSyncState.connection_id)
        .where(
            InsightSyncState.last_status == InsightSyncState.SUCCEEDED,
            InsightSyncState.last_finished_at >= utcnow() - RECENT,
        )
    ).all()
    durations: dict[str, list[float]] = defaultdict(list)
    for platform_key, started, finished, backfilled in rows:
        if started is None or finished is None or finished < started:
            continue
        if backfilled is not None and backfilled >= finished:
            continue  # that pull was the first backfill (90 days), not a daily one
        durations[platform_key].append((finished - started).total_seconds())
    low, high = PULL_SECONDS_RANGE
    return {
        key: min(high, max(low, statistics.median(values)))
        for key, values in durations.items()
        if len(values) >= MIN_SAMPLES
    }


def pull_targets(
    connection_ids: list[int], expected: Mapping[str, float], default: float
) -> list[PullTarget]:
    """One target per connection that still exists, with its report gate and expected time."""
    connections = {
        c.id: c
        for c in db.session.scalars(select(Connection).where(Connection.id.in_(connection_ids)))
    } if connection_ids else {}  # fmt: skip
    targets = []
    for connection_id in connection_ids:
        connection = connections.get(connection_id)
        if connection is None:
            continue  # deleted since it was listed
        gate = gate_for(connection)
        targets.append(
            PullTarget(
                connection_id,
                gate.key if gate else None,
                gate.cap if gate else None,
                expected.get(connection.platform_key, default),
            )
        )
    return targets


def daily_pull_plan(
    connection_ids: list[int],
    *,
    window_seconds: float = DEFAULT_WINDOW_SECONDS,
    resolution: float = 1.0,
    rng: random.Random | None = None,
) -> PullPlan:
    """The day's plan for these connections, from their plugins' limits and recent pulls."""
    targets = pull_targets(connection_ids, expected_pull_seconds(), DEFAULT_PULL_SECONDS)
    return plan_pulls(targets, window_seconds=window_seconds, resolution=resolution, rng=rng)
