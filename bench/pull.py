"""Benchmark: parse and upsert a 14-day x 10,000-ad report (140,000 rows).

Baseline ("floor"), measured in the same run: read the same ZIP/CSV with the csv module, convert
the values, and bulk-insert the rows into the empty table with a plain INSERT. The pull path is
the plugin's streaming parser (``parse_report`` + ``metrics``) into ``upsert_metrics`` (INSERT
... ON CONFLICT DO UPDATE in batches), first into the empty table and then again over the full
table (a re-pull that overwrites every row). Target: at most 3x the floor, and peak memory that
does not grow with the report (compared at 14,000 and 140,000 rows).

    python bench/pull.py [--ads 10000] [--days 14] [--database-url sqlite:///...]
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEADER = ["TimePeriod", "AccountId", "CampaignId", "AdGroupId", "AdId", "CurrencyCode",
          "Impressions", "Clicks", "Spend", "ConversionsQualified", "Revenue"]  # fmt: skip


def make_report(ads: int, days: int) -> bytes:
    """A Microsoft-shaped report: BOM, metadata lines, quoted cells, CRLF, copyright footer."""
    text = io.StringIO()
    text.write('\ufeff"Report Name: bench"\r\n"Report Time: 2026-10-15"\r\n"Rows: x"\r\n\r\n')
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(HEADER)
    start = date(2026, 10, 1)
    for d in range(days):
        day = (start + timedelta(days=d)).isoformat()
        for ad in range(ads):
            clicks = (ad * 7 + d) % 50
            writer.writerow([day, "80000011", str(500 + ad // 100), str(40000 + ad // 10),
                             str(3000000 + ad), "USD", str(clicks * 20 + 3), str(clicks),
                             f"{clicks * 0.37:.2f}", f"{(clicks % 5) * 0.5:.2f}",
                             f"{(clicks % 5) * 12.5:.2f}"])  # fmt: skip
    text.write('\r\n"©2026 Microsoft Corporation. All rights reserved. "\r\n')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bench.csv", text.getvalue().encode("utf-8"))
    return out.getvalue()


def chunks(blob: bytes, size: int = 256 * 1024):  # noqa: ANN201
    for i in range(0, len(blob), size):
        yield blob[i : i + size]


def floor(blob: bytes, connection_id: int) -> int:
    """The simplest correct thing: csv + typed values + one plain bulk INSERT."""
    from webapp.extensions import db
    from webapp.models import InsightDaily
    from webapp.models.types import utcnow

    with zipfile.ZipFile(io.BytesIO(blob)) as archive, archive.open("bench.csv") as member:
        lines = io.TextIOWrapper(member, encoding="utf-8-sig", newline="")
        reader = csv.reader(lines)
        for row in reader:
            if row and row[0] == "TimePeriod":
                break
        now = utcnow()
        rows = [
            {
                "connection_id": connection_id, "level": "ad", "entity_id": r[4],
                "day": date.fromisoformat(r[0]), "impressions": int(r[6]), "clicks": int(r[7]),
                "spend": Decimal(r[8]), "currency": r[5], "conversions": Decimal(r[9]),
                "revenue": Decimal(r[10]), "pulled_at": now,
            }
            for r in reader
            if len(r) == len(HEADER)
        ]  # fmt: skip
    db.session.execute(InsightDaily.__table__.insert(), rows)
    db.session.commit()
    return len(rows)


def pull_path(blob: bytes, connection_id: int) -> int:
    from platforms.microsoft_ads.reporting import metrics, parse_report
    from webapp.services.insights_store import upsert_metrics

    return upsert_metrics(connection_id, metrics("ad", parse_report(chunks(blob)), "USD"))


def empty_table() -> None:
    from webapp.extensions import db
    from webapp.models import InsightDaily

    db.session.execute(InsightDaily.__table__.delete())
    db.session.commit()


def timed(func: Callable[..., int], *args: Any) -> tuple[float, int]:
    started = time.perf_counter()
    count = func(*args)
    return time.perf_counter() - started, count


def peak_memory(func: Callable[..., object], *args: Any) -> int:
    tracemalloc.start()
    func(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ads", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    from config import load_settings
    from webapp.extensions import db
    from webapp.factory import create_app
    from webapp.models import Connection, Workspace

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    settings = load_settings({"SOURCELOOP_ENV": "testing", "DATABASE_URL": url,
                              "SECRET_KEY": "bench", "REDIS_URL": "redis://127.0.0.1:1/0"})  # fmt: skip
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        workspace = Workspace(name="Bench")
        db.session.add(workspace)
        db.session.flush()
        connection = Connection(workspace_id=workspace.id, platform_key="microsoft_ads",
                                account_id="80000011", account_name="Bench")  # fmt: skip
        db.session.add(connection)
        db.session.commit()
        cid = connection.id

        blob = make_report(args.ads, args.days)
        n = args.ads * args.days
        print(f"report: {n:,} rows, {len(blob) / 1e6:.1f} MB zipped, database {db.engine.name}")
        empty_table()
        t_floor, c_floor = timed(floor, blob, cid)
        empty_table()
        t_first, c_first = timed(pull_path, blob, cid)
        t_again, c_again = timed(pull_path, blob, cid)  # every row now conflicts: update path
        assert c_floor == c_first == c_again == n, (c_floor, c_first, c_again)
        print(f"floor   parse + bulk INSERT into empty table : {t_floor:6.2f} s")
        print(f"pull    stream parse + upsert, empty table    : {t_first:6.2f} s  "
              f"ratio {t_first / t_floor:.2f}x")  # fmt: skip
        print(f"re-pull stream parse + upsert, all conflicts  : {t_again:6.2f} s  "
              f"ratio {t_again / t_floor:.2f}x")  # fmt: skip

        small = make_report(max(1, args.ads // 10), args.days)
        empty_table()
        peak_small = peak_memory(pull_path, small, cid)
        empty_table()
        peak_large = peak_memory(pull_path, blob, cid)
        empty_table()
        peak_floor = peak_memory(floor, blob, cid)
        print(f"peak memory (tracemalloc): pull {n // 10:,} rows {peak_small / 1e6:.1f} MB, "
              f"{n:,} rows {peak_large / 1e6:.1f} MB (growth ratio "
              f"{peak_large / peak_small:.2f}x for 10x rows); floor {peak_floor / 1e6:.1f} MB")  # fmt: skip
        worst = max(t_first, t_again) / t_floor
        verdict = "OK" if worst <= 3 and peak_large / peak_small < 2 else "OVER BUDGET"
        print(f"worst time ratio {worst:.2f}x (budget 3x); memory flat: "
              f"{peak_large / peak_small < 2} -> {verdict}")  # fmt: skip
    tmp.cleanup()


if __name__ == "__main__":
    main()
