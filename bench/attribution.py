"""Benchmark: attribute N conversions over 10·N touchpoints under all six models, against a
floor measured in the same run on a copy of the same file.

Floor: a minimal attributor with the same input and output work. It reads the same journey rows
(the service's own query, in conversion order, in the same chunks) and writes, per conversion,
exactly as many credit rows as the service writes for it (counted in an untimed warm-up run of
the service) plus its "attributed" marker, through the same bare driver ``executemany`` and one
commit per chunk, but decides nothing. The ratio is what the service's own logic (models, exact
allocation, campaign resolution) costs on top of its I/O.

Attribution: ``webapp.attribution.credits.run`` end to end: finding pending conversions, reading
journeys, six models, exact allocation, campaign resolution, writing one credit row per
conversion × model × credited touch, committing per chunk.

The floor works on its own copy of the generated file. Floor and attribution alternate chunk by
chunk (``--chunk`` conversions each, the one going first alternating too), so a change in the
machine's load hits both alike; the attribution side calls ``run`` with a deadline already past,
so each call does one chunk end to end (looking up pending conversions, settings and campaigns
again each time, which only adds to its time). A round is one pass over every conversion on each
side; each round prints wall and CPU time and the load, and the result is the median of the
rounds' wall-clock ratios (the CPU-time ratio, which load moves far less, is printed beside it).

    python -m bench.attribution                # 100,000 conversions, 1,000,000 touchpoints
    python -m bench.attribution --conversions 20000 --rounds 5

The data lives in a temporary SQLite file that is deleted afterwards. Target (issue 18): the
median ratio ≤ 1.5.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

CHANNELS = ("direct", "organic_search", "microsoft_ads", "email", "referral", "social")
TOUCHES_PER_CONVERSION = 10
T = TypeVar("T")
FMT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def make_app(db_path: Path):  # noqa: ANN201
    from config import load_settings
    from webapp.factory import create_app

    settings = load_settings(
        {
            "SOURCELOOP_ENV": "testing",
            "DATABASE_URL": f"sqlite:///{db_path}",
            "REDIS_URL": "redis://127.0.0.1:1/0",  # never contacted
            "SECRET_KEY": "bench",
        }
    )
    return create_app(settings)


def generate(db_path: Path, conversions: int, seed: int = 8) -> int:
    """One visitor per conversion, ten touches over the 120 days before it (so some fall
    outside the 90-day window); written with plain sqlite3 because only the runs are timed."""
    rng = random.Random(seed)
    end = datetime(2026, 6, 1, tzinfo=UTC)
    con = sqlite3.connect(db_path)
    con.execute("INSERT INTO workspaces (id, name, created_at) VALUES (1, 'Bench', ?)",
                (end.strftime(FMT),))  # fmt: skip
    visitors, touches, convs = [], [], []
    touch_id = 0
    for v in range(1, conversions + 1):
        converted = end - timedelta(seconds=rng.randrange(0, 60 * 86400))
        visitors.append((v, 1, f"v{v}", converted.strftime(FMT), converted.strftime(FMT)))
        for _ in range(TOUCHES_PER_CONVERSION):
            touch_id += 1
            at = converted - timedelta(seconds=rng.randrange(0, 120 * 86400))
            channel = rng.choice(CHANNELS)
            campaign = f"Campaign {rng.randrange(40)}" if channel != "direct" else ""
            utm = f'{{"utm_campaign": "{campaign}"}}' if campaign else "{}"
            touches.append((touch_id, 1, v, at.strftime(FMT), channel, campaign, utm))
        value = f"{rng.randrange(100, 100000) / 100:.2f}"
        convs.append((v, 1, v, "purchase", converted.strftime(FMT), value, "USD", f"o{v}", "api",
                      "{}", converted.strftime(FMT)))  # fmt: skip
        if len(visitors) == 10_000 or v == conversions:  # in slices: the bench's memory is ours
            _write(con, visitors, touches, convs)
            visitors, touches, convs = [], [], []
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return touch_id


def _write(con: sqlite3.Connection, visitors: list, touches: list, convs: list) -> None:
    con.executemany(
        "INSERT INTO visitors (id, workspace_id, uid, first_seen_at, last_seen_at) "
        "VALUES (?, ?, ?, ?, ?)", visitors)  # fmt: skip
    con.executemany(
        "INSERT INTO touchpoints (id, workspace_id, visitor_id, occurred_at, channel, campaign, "
        "utm, source, medium, landing_url, referrer) VALUES (?, ?, ?, ?, ?, ?, ?, '', '', '', '')",
        touches)  # fmt: skip
    con.executemany(
        "INSERT INTO conversions (id, workspace_id, visitor_id, event, occurred_at, value, "
        "currency, external_id, source, properties, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", convs)  # fmt: skip


def floor_chunk(part: list[int], per_conversion: dict[int, int]) -> tuple[int, int]:
    """Read the journey rows of these conversions through the service's query and write the same
    number of credit rows per conversion (and one marker each) with bare ``executemany``, in one
    transaction; returns (journey rows, credit rows written)."""
    from itertools import groupby

    from sqlalchemy import insert

    from webapp.attribution.credits import _bulk_insert_sql, journey_query
    from webapp.extensions import db
    from webapp.models import AttributedConversion

    writer = _bulk_insert_sql()
    result = db.session.execute(journey_query(part).execution_options(yield_per=5000))
    rows, batch = 0, []
    for conversion_id, group in groupby(result, key=lambda r: r[0]):
        touches = list(group)
        rows += len(touches)
        value = int((touches[0][2] or 0) * 10_000)
        for i in range(per_conversion.get(conversion_id, 0)):
            t = touches[i % len(touches)]
            batch.append(("linear", value, 1_000_000, 1, conversion_id, t[4],
                          t[6] or "(none)", t[7] or "", None, t[8], None, t[3]))  # fmt: skip
    db.session.connection().exec_driver_sql(writer, batch)
    db.session.execute(
        insert(AttributedConversion),
        [{"conversion_id": cid, "workspace_id": 1, "last_adjustment_id": None,
          "settings_key": "floor", "computed_at": datetime.now(UTC)} for cid in part],
    )  # fmt: skip
    db.session.commit()
    return rows, len(batch)


def conversion_ids() -> list[int]:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Conversion

    return list(db.session.scalars(select(Conversion.id).order_by(Conversion.id)))


def service_chunk(chunk: int) -> int:
    """One chunk of ``webapp.attribution.credits.run`` end to end: a deadline already past makes
    it return after its first chunk (pending conversions, settings and the campaign resolver are
    looked up again on every call, which only adds to the service's time)."""
    from webapp.attribution import credits as multitouch
    from webapp.models.types import utcnow

    return multitouch.run(1, chunk=chunk, deadline=utcnow())


def reset() -> None:
    from sqlalchemy import delete

    from webapp.extensions import db
    from webapp.models import AttributedConversion, AttributionCredit

    db.session.execute(delete(AttributionCredit))
    db.session.execute(delete(AttributedConversion))
    db.session.commit()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """(wall seconds, CPU seconds of this process, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversions", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3, help="passes over every conversion")
    args = parser.parse_args()

    from sqlalchemy import func, select

    from webapp.attribution import credits as multitouch
    from webapp.extensions import db
    from webapp.models import AttributionCredit

    one, five, fifteen = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {one:.2f} {five:.2f} {fifteen:.2f} "
          f"at the start")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-attribution-") as tmp:
        floor_db, service_db = Path(tmp) / "floor.db", Path(tmp) / "service.db"
        floor_app = make_app(floor_db)
        with floor_app.app_context():
            db.create_all()
            db.engine.dispose()
        started = time.perf_counter()
        n_touches = generate(floor_db, args.conversions)
        shutil.copyfile(floor_db, service_db)  # the same rows, pages and statistics
        print(f"generated {args.conversions:,} conversions, {n_touches:,} touchpoints "
              f"in {time.perf_counter() - started:.1f} s (one copy each)")  # fmt: skip
        service_app = make_app(service_db)
        rss_before = peak_rss_mb()

        # Untimed warm-up of both files; the service's run counts the rows the floor writes.
        with service_app.app_context():
            multitouch.run(1, chunk=args.chunk)
            per_conversion = dict(
                db.session.execute(
                    select(AttributionCredit.conversion_id, func.count()).group_by(
                        AttributionCredit.conversion_id
                    )
                ).all()
            )
            credits = sum(per_conversion.values())
            reset()
        with floor_app.app_context():
            ids = conversion_ids()
            for start in range(0, len(ids), args.chunk):
                floor_chunk(ids[start : start + args.chunk], per_conversion)
            reset()

        # Floor and service alternate chunk by chunk (2,000 conversions each, the one going
        # first alternating too), so a change in the machine's load hits both alike.
        ratios, cpu_ratios = [], []
        for r in range(1, args.rounds + 1):
            floor, service = [0.0, 0.0], [0.0, 0.0]  # wall, CPU seconds
            rows = written = 0
            for k, start in enumerate(range(0, len(ids), args.chunk)):
                part = ids[start : start + args.chunk]
                for side in ("floor", "service") if k % 2 == 0 else ("service", "floor"):
                    if side == "floor":
                        with floor_app.app_context():
                            wall, cpu, (read, wrote) = timed(
                                partial(floor_chunk, part, per_conversion)
                            )
                        floor[0], floor[1] = floor[0] + wall, floor[1] + cpu
                        rows, written = rows + read, written + wrote
                    else:
                        with service_app.app_context():
                            wall, cpu, _ = timed(partial(service_chunk, args.chunk))
                        service[0], service[1] = service[0] + wall, service[1] + cpu
            with service_app.app_context():
                done = db.session.scalar(select(func.count()).select_from(AttributionCredit))
                reset()
            with floor_app.app_context():
                reset()
            ratios.append(service[0] / floor[0])
            cpu_ratios.append(service[1] / floor[1])
            print(f"round {r}: floor (read {rows:,} journey rows, write {written:,} credit rows) "
                  f"{floor[0]:6.2f} s (CPU {floor[1]:5.2f} s) · attribution (6 models, "
                  f"{done:,} credit rows) {service[0]:6.2f} s (CPU {service[1]:5.2f} s) · ratio "
                  f"{ratios[-1]:.2f} (CPU {cpu_ratios[-1]:.2f}) · load "
                  f"{os.getloadavg()[0]:.2f}")  # fmt: skip
        print(f"{args.conversions:,} conversions, {credits:,} credit rows")
        print(f"ratio attribution / floor: {statistics.median(ratios):.2f} median of "
              f"{args.rounds} (CPU time {statistics.median(cpu_ratios):.2f})  "
              f"(target ≤ 1.50, issue 18)")  # fmt: skip
        print(f"peak RSS: {rss_before:.0f} MB after generating, {peak_rss_mb():.0f} MB after "
              f"the rounds")  # fmt: skip


if __name__ == "__main__":
    main()
