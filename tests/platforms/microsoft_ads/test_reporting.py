"""Report file parsing and the submit/poll/download state machine, with a fake sleep."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from platforms.base import AccountRef, DateWindow
from platforms.errors import InvalidRequest, RateLimited, TransientError
from platforms.microsoft_ads.reporting import (
    POLL_PATH,
    SUBMIT_PATH,
    PollPolicy,
    ReportRunner,
    metrics,
    parse_report,
    report_request,
)

FULL_FILE = (
    '\ufeff"Report Name: campaign-daily"\r\n'
    '"Report Time: 9/1/2026, 9/2/2026"\r\n'
    '"Time Zone: (GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London"\r\n'
    '"Report Aggregation: Daily"\r\n'
    '"Rows: 3"\r\n'
    "\r\n"
    '"TimePeriod","AccountId","CampaignId","CurrencyCode","Impressions","Clicks","Spend",'
    '"Ctr","ConversionsQualified","Revenue"\r\n'
    '"2026-09-01","123","555","EUR","1,840","97","41.27","5.27%","6.00","1,200.50"\r\n'
    '"2026-09-01","123","556","EUR","12","0","0.00","0.00%","--","0.00"\r\n'
    '"2026-09-02","123","555","","1702","88","39.10","5.17%","4.50","980.00"\r\n'
    '"Total","","","","3554","185","80.37","","10.50","2180.50"\r\n'
    "\r\n"
    '"\u00a92026 Microsoft Corporation. All rights reserved. "\r\n'
)
BARE_FILE = (
    '\ufeff"TimePeriod","AccountId","CampaignId","CurrencyCode","Impressions","Clicks","Spend",'
    '"ConversionsQualified","Revenue"\n"2026-09-01","123","555","USD","10","1","0.5","0","0"\n'
)


def _zip(text: str, name: str = "report.csv") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text.encode("utf-8"))
    return buffer.getvalue()


def _in_chunks(data: bytes, size: int = 7) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def test_zip_with_bom_header_footer_and_totals():
    rows = list(parse_report(_in_chunks(_zip(FULL_FILE))))
    assert [r["CampaignId"] for r in rows] == ["555", "556", "555"]
    parsed = list(metrics("campaign", rows, "EUR"))
    first = parsed[0]
    assert first.day == date(2026, 9, 1) and first.impressions == 1840 and first.clicks == 97
    assert first.spend == Decimal("41.27") and first.revenue == Decimal("1200.50")
    assert first.conversions == Decimal("6.00") and first.currency == "EUR"
    assert parsed[1].conversions == Decimal(0)
    assert parsed[2].currency == "EUR"  # empty CurrencyCode falls back to the account's


@pytest.mark.parametrize(
    "payload",
    [BARE_FILE.encode(), gzip.compress(BARE_FILE.encode()), _zip(BARE_FILE.replace("\n", "\r\n"))],
)
def test_bare_csv_gzip_and_crlf(payload):
    rows = list(parse_report([payload]))
    assert len(rows) == 1 and rows[0]["TimePeriod"] == "2026-09-01"


def test_nul_bytes_and_empty_zip():
    rows = list(parse_report([BARE_FILE.replace("555", "5\x0055").encode()]))
    assert rows[0]["CampaignId"] == "555"
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    assert list(parse_report([empty.getvalue()])) == []


def test_large_report_is_streamed_row_by_row():
    header = (
        "TimePeriod,AccountId,CampaignId,AdGroupId,AdId,CurrencyCode,Impressions,Clicks,Spend\n"
    )
    body = "".join(f"2026-09-01,1,2,3,{i},USD,10,1,0.10\n" for i in range(50_000))
    rows = parse_report(_in_chunks(_zip(header + body), 64 * 1024))
    assert sum(1 for _ in metrics("ad", rows, "USD")) == 50_000


# --- the state machine ----------------------------------------------------------------------


class FakeResponse:
    def __init__(self, status: int, data: bytes = b"") -> None:
        self.status_code = status
        self.data = data
        self.closed = False

    def iter_content(self, chunk_size: int) -> Any:
        yield from _in_chunks(self.data, chunk_size)

    def close(self) -> None:
        self.closed = True


class ScriptedClient:
    """Answers Submit/Poll/download from a script; an Exception in the script is raised."""

    def __init__(self, submits: list[Any], polls: list[Any], downloads: list[Any]) -> None:
        self.script = {SUBMIT_PATH: submits, POLL_PATH: polls, "download": downloads}
        self.calls: list[str] = []

    def _next(self, key: str) -> Any:
        self.calls.append(key)
        answer = self.script[key].pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def reporting(self, path: str, body: dict[str, Any], account: AccountRef) -> dict[str, Any]:
        return self._next(path)

    def download(self, url: str) -> FakeResponse:
        return self._next("download")


def _status(status: str, url: str | None = None) -> dict[str, Any]:
    info: dict[str, Any] = {"Status": status}
    if url is not None:
        info["ReportDownloadUrl"] = url
    return {"ReportRequestStatus": info}


def _run(client: ScriptedClient, **policy: Any) -> tuple[list[dict[str, str]], list[float]]:
    slept: list[float] = []
    runner = ReportRunner(client, AccountRef("1", "2"), sleep=slept.append,  # type: ignore[arg-type]
                          policy=PollPolicy(**policy))  # fmt: skip
    body = report_request("campaign", "1", DateWindow(date(2026, 9, 1), date(2026, 9, 2)), "X")
    return list(runner.rows(body)), slept


SUBMITTED = {"ReportRequestId": "r1"}


def test_polls_with_exponential_backoff_then_downloads():
    client = ScriptedClient(
        [SUBMITTED],
        [_status("Pending"), _status("Pending"), _status("Pending"), _status("Success", "u")],
        [FakeResponse(200, _zip(BARE_FILE))],
    )
    rows, slept = _run(client, first_delay=2, factor=2, max_delay=5)
    assert len(rows) == 1
    assert slept == [2, 4, 5]


def test_success_without_url_means_no_data():
    client = ScriptedClient([SUBMITTED], [{"ReportRequestStatus": {"Status": "Success",
                                                                   "ReportDownloadUrl": None}}], [])  # fmt: skip
    rows, _ = _run(client)
    assert rows == [] and "download" not in client.calls


def test_expired_link_is_polled_again():
    expired = FakeResponse(403, b"<Error><Code>AuthenticationFailed</Code></Error>")
    client = ScriptedClient(
        [SUBMITTED],
        [_status("Success", "old"), _status("Success", "fresh")],
        [expired, FakeResponse(200, _zip(BARE_FILE))],
    )
    rows, _ = _run(client)
    assert len(rows) == 1 and expired.closed
    assert client.calls == [SUBMIT_PATH, POLL_PATH, "download", POLL_PATH, "download"]


def test_error_status_resubmits_a_bounded_number_of_times():
    client = ScriptedClient([SUBMITTED, SUBMITTED], [_status("Error"), _status("Success", "u")],
                            [FakeResponse(200, _zip(BARE_FILE))])  # fmt: skip
    rows, _ = _run(client, max_resubmits=1)
    assert len(rows) == 1
    failing = ScriptedClient([SUBMITTED] * 3, [_status("Error")] * 3, [])
    with pytest.raises(TransientError, match="after 3 attempts"):
        _run(failing, max_resubmits=2)


def test_expired_report_id_is_resubmitted():
    gone = InvalidRequest("report id", code="2100")
    client = ScriptedClient([SUBMITTED, SUBMITTED], [gone, _status("Success")], [])
    rows, _ = _run(client)
    assert rows == [] and client.calls.count(SUBMIT_PATH) == 2


def test_throttling_on_submit_and_poll_backs_off():
    client = ScriptedClient(
        [RateLimited("busy", retry_after=30, code="207"), SUBMITTED],
        [RateLimited("slow down", retry_after=60, code="117"), _status("Success")],
        [],
    )
    _, slept = _run(client)
    assert slept == [30, 60]


def test_pending_forever_gives_up_for_this_run():
    client = ScriptedClient([SUBMITTED], [_status("Pending")] * 10, [])
    with pytest.raises(TransientError, match="still pending"):
        _run(client, first_delay=10, factor=1, max_wait=30)


def test_other_errors_propagate():
    client = ScriptedClient([InvalidRequest("bad columns", code="2015")], [], [])
    with pytest.raises(InvalidRequest):
        _run(client)
