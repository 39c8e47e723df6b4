"""Daily performance reports: submit, poll with backoff, download, stream-parse.

Microsoft builds reports asynchronously and hands out a short-lived (about 5 minutes) download
link, so this module owns the waiting: backoff between polls, a fresh poll when the link expired,
``Success`` without a link meaning "no data", a bounded number of resubmits when a report ends in
``Error``, and patience on 117/207 throttling. Files are spooled to disk past a few megabytes and
parsed row by row, so a 140,000-row report never sits in memory. ``sleep`` is injected so tests do
not wait.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import requests

from platforms.base import AccountRef, DailyMetric, DateWindow, EntityLevel
from platforms.errors import InvalidRequest, RateLimited, TransientError
from platforms.microsoft_ads.client import MicrosoftAdsClient
from platforms.microsoft_ads.mapping import LEVEL_ID_COLUMN, metric_from_row

log = logging.getLogger(__name__)

SUBMIT_PATH = "/Reporting/v13/GenerateReport/Submit"
POLL_PATH = "/Reporting/v13/GenerateReport/Poll"

# Only ids and metrics: every extra attribute column (names, statuses, device...) can split a day
# into several rows, and names come from the hierarchy pull anyway. One row per entity per day.
_METRICS = ["CurrencyCode", "Impressions", "Clicks", "Spend", "ConversionsQualified", "Revenue"]
REPORT_TYPES: dict[EntityLevel, tuple[str, list[str]]] = {
    "campaign": (
        "CampaignPerformanceReportRequest",
        ["TimePeriod", "AccountId", "CampaignId", *_METRICS],
    ),
    "ad_group": (
        "AdGroupPerformanceReportRequest",
        ["TimePeriod", "AccountId", "CampaignId", "AdGroupId", *_METRICS],
    ),
    "ad": (
        "AdPerformanceReportRequest",
        ["TimePeriod", "AccountId", "CampaignId", "AdGroupId", "AdId", *_METRICS],
    ),
}

_REPORT_ID_GONE = frozenset({"2100", "2101"})  # invalid / expired report id: submit again
_URL_EXPIRED_STATUSES = frozenset({400, 403, 404, 410})


def _date(day: Any) -> dict[str, int]:
    return {"Year": day.year, "Month": day.month, "Day": day.day}


def report_request(
    level: EntityLevel, account_id: str, window: DateWindow, time_zone: str
) -> dict[str, Any]:
    """The ``SubmitGenerateReport`` body: Daily aggregation, custom range, explicit time zone.

    ``ReportTimeZone`` is always sent (Microsoft's default is Pacific time, whatever the account
    uses) so days line up with the account's own reports in the Microsoft Advertising UI."""
    report_type, columns = REPORT_TYPES[level]
    return {
        "ReportRequest": {
            "Type": report_type,
            "Format": "Csv",
            "FormatVersion": "2.0",
            "ReturnOnlyCompleteData": False,
            "ExcludeReportHeader": True,
            "ExcludeReportFooter": True,
            "ExcludeColumnHeaders": False,
            "Aggregation": "Daily",
            "Columns": list(columns),
            "Scope": {"AccountIds": [account_id]},
            "Time": {
                "CustomDateRangeStart": _date(window.start),
                "CustomDateRangeEnd": _date(window.end),
                "ReportTimeZone": time_zone,
            },
        }
    }


@dataclass(frozen=True)
class PollPolicy:
    """How patient to be. Waits are counted in slept seconds, so tests stay deterministic."""

    first_delay: float = 2.0
    max_delay: float = 60.0
    factor: float = 2.0
    max_wait: float = 45 * 60.0  # then give up for this run; the next pull tries again
    max_resubmits: int = 2  # after the first submit, on Status=Error or an expired report id
    max_url_refreshes: int = 3  # fresh polls when the download link expired
    max_throttle_waits: int = 6  # 117/207 back-offs per submit or poll


class ReportRunner:
    """Runs one report to completion and yields its CSV rows as dicts (header → value)."""

    def __init__(
        self,
        client: MicrosoftAdsClient,
        account: AccountRef,
        *,
        sleep: Callable[[float], None] = time.sleep,
        policy: PollPolicy | None = None,
    ) -> None:
        self.client = client
        self.account = account
        self.sleep = sleep
        self.policy = policy or PollPolicy()

    def rows(self, body: dict[str, Any]) -> Iterator[dict[str, str]]:
        attempts = self.policy.max_resubmits + 1
        last_problem = "no attempt made"
        for attempt in range(1, attempts + 1):
            report_id = self._throttled(
                lambda: self.client.reporting(SUBMIT_PATH, body, self.account)
            )
            request_id = str(report_id.get("ReportRequestId") or "")
            if not request_id:
                raise TransientError("Microsoft Advertising accepted the report without an id")
            try:
                yield from self._collect(request_id)
                return
            except _ReportFailed as failed:
                last_problem = failed.reason
                log.warning(
                    "msads report %s failed (%s), attempt %d/%d",
                    request_id,
                    failed.reason,
                    attempt,
                    attempts,
                )
        raise TransientError(
            f"Microsoft Advertising could not build the report after {attempts} attempts "
            f"({last_problem}); the next pull will try again"
        )

    # --- steps --------------------------------------------------------------------------------

    def _collect(self, request_id: str) -> Iterator[dict[str, str]]:
        for _refresh in range(self.policy.max_url_refreshes + 1):
            url = self._wait_for_url(request_id)
            if url is None:
                return  # Success without a link: the report has no rows for this range
            response = self.client.download(url)
            try:
                if response.status_code in _URL_EXPIRED_STATUSES:
                    log.info(
                        "msads report %s link expired (HTTP %s)", request_id, response.status_code
                    )
                    continue
                if response.status_code >= 300:
                    raise TransientError(
                        f"Microsoft Advertising report download answered HTTP {response.status_code}"
                    )
                yield from parse_report(_chunks(response))
                return
            finally:
                response.close()
        raise TransientError("the report download link kept expiring before it could be read")

    def _wait_for_url(self, request_id: str) -> str | None:
        waited = 0.0
        delay = self.policy.first_delay
        body = {"ReportRequestId": request_id}
        while True:
            try:
                answer = self._throttled(
                    lambda: self.client.reporting(POLL_PATH, body, self.account)
                )
            except InvalidRequest as exc:
                if exc.code in _REPORT_ID_GONE:
                    raise _ReportFailed(f"report id no longer valid ({exc.code})") from None
                raise
            status_info = answer.get("ReportRequestStatus") or {}
            status = str(status_info.get("Status") or "")
            if status == "Success":
                return status_info.get("ReportDownloadUrl") or None
            if status == "Error":
                raise _ReportFailed("Status=Error")
            if waited >= self.policy.max_wait:
                raise TransientError(
                    f"Microsoft Advertising report {request_id} still pending after "
                    f"{int(waited)} s; the next pull will try again"
                )
            self.sleep(delay)
            waited += delay
            delay = min(delay * self.policy.factor, self.policy.max_delay)

    def _throttled(self, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        for _ in range(self.policy.max_throttle_waits):
            try:
                return call()
            except RateLimited as exc:
                log.info(
                    "msads reporting throttled (%s), waiting %.0f s", exc.code, exc.retry_after
                )
                self.sleep(exc.retry_after)
        return call()


class _ReportFailed(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- file parsing -----------------------------------------------------------------------------

_SPOOL_IN_MEMORY = 8 * 1024 * 1024


def _chunks(response: Any) -> Iterator[bytes]:
    try:
        yield from response.iter_content(chunk_size=256 * 1024)
    except (requests.RequestException, OSError) as exc:  # a reset connection mid-download
        raise TransientError(
            f"Microsoft Advertising report download broke off: {type(exc).__name__}"
        ) from None


def parse_report(chunks: Iterable[bytes]) -> Iterator[dict[str, str]]:
    """Rows of a downloaded report (ZIP, gzip or bare CSV), spooled to disk when large."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        for chunk in chunks:
            if chunk:
                spool.write(chunk)
        spool.seek(0)
        magic = spool.read(4)
        spool.seek(0)
        if magic.startswith(b"PK"):
            with zipfile.ZipFile(spool) as archive:
                members = [m for m in archive.infolist() if not m.is_dir()]
                if not members:
                    return
                with archive.open(members[0]) as member:
                    yield from parse_csv(member)
        elif magic.startswith(b"\x1f\x8b"):
            with gzip.GzipFile(fileobj=spool, mode="rb") as member:
                yield from parse_csv(member)
        else:
            yield from parse_csv(spool)


def _text_lines(binary: IO[bytes] | gzip.GzipFile) -> Iterator[str]:
    """UTF-8 lines without BOM or NUL bytes (both seen in real report files)."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")
    for line in text:
        yield line.replace("\x00", "")


def parse_csv(binary: IO[bytes] | gzip.GzipFile) -> Iterator[dict[str, str]]:
    """Data rows keyed by column name; metadata header lines, blanks, totals and the copyright
    footer are skipped whether or not the report was asked to exclude them."""
    header: list[str] | None = None
    for cells in csv.reader(_text_lines(binary)):
        cells = [c.strip() for c in cells]
        if not any(cells):
            continue
        if header is None:
            if "TimePeriod" in cells and len(cells) > 1:
                header = cells
            continue  # "Report Name: ..." style metadata lines before the column row
        if len(cells) == 1 or cells[0].startswith(("©", "\xa9", "Total")):
            continue  # footer, or a totals row
        if "Microsoft Corporation" in cells[0]:
            continue
        if len(cells) != len(header):
            log.warning(
                "msads report row with %d cells (header has %d) skipped", len(cells), len(header)
            )
            continue
        yield dict(zip(header, cells, strict=True))


def metrics(
    level: EntityLevel, rows: Iterable[dict[str, str]], currency: str
) -> Iterator[DailyMetric]:
    id_column = LEVEL_ID_COLUMN[level]
    for row in rows:
        if not row.get(id_column) or not row.get("TimePeriod"):
            continue
        yield metric_from_row(level, row, currency)
