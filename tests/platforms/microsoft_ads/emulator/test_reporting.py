"""Reporting: Submit, Poll Pending -> Success, ZIP/CSV download, validation, limits."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient

from .conftest import Api, Clock, fault_code

SUBMIT = "/Reporting/v13/GenerateReport/Submit"
POLL = "/Reporting/v13/GenerateReport/Poll"
COLUMNS = ["TimePeriod", "AccountId", "CampaignId", "CampaignName", "CampaignStatus", "CurrencyCode",
           "Impressions", "Clicks", "Spend", "Ctr", "ConversionsQualified", "Revenue"]  # fmt: skip


def _d(day: date) -> dict[str, int]:
    return {"Year": day.year, "Month": day.month, "Day": day.day}


def _request(clock: Clock, kind: str = "CampaignPerformanceReportRequest", days: int = 14,
             columns: list[str] | None = None, accounts: tuple[str, ...] = ("80000011",),
             **flags: Any) -> dict[str, Any]:  # fmt: skip
    today = clock.now.date()
    request = {
        "Type": kind, "ReportName": "daily-pull", "Format": "Csv", "FormatVersion": "2.0",
        "ReturnOnlyCompleteData": False, "Aggregation": "Daily", "Columns": columns or COLUMNS,
        "Scope": {"AccountIds": list(accounts)},
        "Time": {"CustomDateRangeStart": _d(today - timedelta(days=days)),
                 "CustomDateRangeEnd": _d(today - timedelta(days=1)),
                 "ReportTimeZone": "GreenwichMeanTimeDublinEdinburghLisbonLondon"},
        **flags,
    }  # fmt: skip
    return {"ReportRequest": request}


def _run(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    submitted = api(SUBMIT, body, account=None)
    assert submitted.status == 200, submitted.json
    report_id = submitted.json["ReportRequestId"]
    statuses = [
        api(POLL, {"ReportRequestId": report_id}, account=None).json["ReportRequestStatus"]
        for _ in range(3)
    ]
    assert [s["Status"] for s in statuses] == ["Pending", "Pending", "Success"]
    return statuses[-1]


def _download(client: FlaskClient, url: str) -> str:
    response = client.get(url.split("localhost", 1)[-1])  # no Authorization header, like SAS
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    (member,) = archive.namelist()
    raw = archive.read(member)
    assert raw.startswith(b"\xef\xbb\xbf")
    return raw.decode("utf-8-sig")


def test_round_trip_with_header_and_footer(api: Api, client: FlaskClient, clock: Clock) -> None:
    status = _run(api, _request(clock))
    lines = list(csv.reader(io.StringIO(_download(client, status["ReportDownloadUrl"]))))
    assert lines[0] == ["Report Name: daily-pull"]
    assert lines[5] == ["Report Aggregation: Daily"]
    rows_declared = int(lines[8][0].split(": ")[1])
    assert lines[9] == [] and lines[10] == COLUMNS
    data = lines[11:-2]
    assert len(data) == rows_declared and lines[-2] == []
    assert (
        lines[-1][0].startswith("\u00a9")
        and "Microsoft Corporation. All rights reserved." in lines[-1][0]
    )
    assert {r[1] for r in data} == {"80000011"}
    assert all(r[9].endswith("%") for r in data)
    start = clock.now.date() - timedelta(days=14)
    end = clock.now.date() - timedelta(days=1)
    expected = client.get(
        f"/_emulator/metrics?account_id=80000011&level=campaign&start={start}&end={end}"
    ).json
    assert expected["rows"] == len(data)
    assert sum(int(r[6]) for r in data) == expected["impressions"]
    assert f"{sum(float(r[8]) for r in data):.2f}" == expected["spend"]


def test_excluded_header_footer_gives_plain_table(
    api: Api, client: FlaskClient, clock: Clock
) -> None:
    body = _request(clock, "AdPerformanceReportRequest",
                    columns=["TimePeriod", "AccountId", "CampaignId", "AdGroupId", "AdId", "AdType",
                             "Impressions", "Clicks", "Spend"],
                    ExcludeReportHeader=True, ExcludeReportFooter=True)  # fmt: skip
    text = _download(client, _run(api, body)["ReportDownloadUrl"])
    assert text.startswith('"TimePeriod","AccountId"') and "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text)))
    start = clock.now.date() - timedelta(days=14)
    end = clock.now.date() - timedelta(days=1)
    expected = client.get(
        f"/_emulator/metrics?account_id=80000011&level=ad&start={start}&end={end}"
    ).json
    assert (
        len(rows) == expected["rows"] and sum(int(r["Clicks"]) for r in rows) == expected["clicks"]
    )
    body = _request(clock, "AdGroupPerformanceReportRequest",
                    columns=["TimePeriod", "AdGroupId", "Status", "Impressions"],
                    ExcludeReportHeader=True, ExcludeReportFooter=True, ExcludeColumnHeaders=True)  # fmt: skip
    first = next(csv.reader(io.StringIO(_download(client, _run(api, body)["ReportDownloadUrl"]))))
    assert first[0][:2] == "20"  # a date: no column row at all


def test_no_data_is_success_without_url(api: Api, clock: Clock) -> None:
    status = _run(api, _request(clock, accounts=("80000013",), days=7))  # paused 30 days ago
    assert status == {"Status": "Success", "ReportDownloadUrl": None}


def test_download_url_expires(api: Api, client: FlaskClient, clock: Clock) -> None:
    url = _run(api, _request(clock, days=2))["ReportDownloadUrl"]
    clock.advance(minutes=6)
    response = client.get(url.split("localhost", 1)[-1])
    assert response.status_code == 403 and b"AuthenticationFailed" in response.data


def test_validation_errors(api: Api, clock: Clock) -> None:
    def code(body: dict[str, Any]) -> int:
        return fault_code(api(SUBMIT, body, account=None, invalid_request=True))

    summary = _request(clock, Aggregation="Summary")
    assert code(summary) == 2034
    no_period = _request(clock, columns=["AccountId", "Impressions"])
    assert code(no_period) == 2015
    no_measure = _request(clock, columns=["TimePeriod", "AccountId"])
    assert code(no_measure) == 2017
    backwards = _request(clock)
    backwards["ReportRequest"]["Time"]["CustomDateRangeStart"] = _d(clock.now.date())
    assert code(backwards) == 2011
    both = _request(clock)
    both["ReportRequest"]["Time"]["PredefinedTime"] = "Yesterday"
    assert code(both) == 2008
    unknown = _request(clock, kind="KeywordPerformanceReportRequest")
    assert code(unknown) == 2002
    foreign = _request(clock, accounts=("80000021",))
    assert fault_code(api(SUBMIT, foreign, account=None)) == 106


def test_summary_aggregation_and_predefined_time(
    api: Api, client: FlaskClient, clock: Clock
) -> None:
    body = _request(clock, columns=["CampaignId", "Impressions"], Aggregation="Summary",
                    ExcludeReportHeader=True, ExcludeReportFooter=True)  # fmt: skip
    body["ReportRequest"]["Time"] = {"PredefinedTime": "LastSevenDays"}
    rows = list(
        csv.DictReader(io.StringIO(_download(client, _run(api, body)["ReportDownloadUrl"])))
    )
    assert len({r["CampaignId"] for r in rows}) == len(rows)


def test_unknown_report_id_and_concurrency_limit(
    api: Api, client: FlaskClient, clock: Clock
) -> None:
    assert fault_code(api(POLL, {"ReportRequestId": "123"}, account=None)) == 2100
    for _ in range(5):
        assert api(SUBMIT, _request(clock, days=1), account=None).status == 200
    sixth = api(SUBMIT, _request(clock, days=1), account=None)
    assert fault_code(sixth) == 207 and sixth.json["Type"] == "AdApiFaultDetail"


def test_injected_report_error(api: Api, client: FlaskClient, clock: Clock) -> None:
    client.post(
        "/_emulator/faults", json={"operation": "SubmitGenerateReport", "kind": "report_error"}
    )
    report_id = api(SUBMIT, _request(clock, days=1), account=None).json["ReportRequestId"]
    statuses = [api(POLL, {"ReportRequestId": report_id}, account=None).json["ReportRequestStatus"]["Status"]
                for _ in range(3)]  # fmt: skip
    assert statuses == ["Pending", "Pending", "Error"]


def test_late_attribution_raises_conversions_from_its_first_day_only(
    client: FlaskClient, clock: Clock
) -> None:
    today = clock.now.date()
    old = (today - timedelta(days=14), today - timedelta(days=8))
    recent = (today - timedelta(days=7), today - timedelta(days=1))

    def totals(start: date, end: date, level: str = "campaign") -> dict[str, Any]:
        url = f"/_emulator/metrics?account_id=80000011&level={level}&start={start}&end={end}"
        return client.get(url).json

    before = {span: totals(*span) for span in (old, recent)}
    before_ad = totals(*recent, level="ad")
    armed = client.post(
        "/_emulator/late_attribution",
        json={"account_id": "80000011", "since": recent[0].isoformat(), "percent": 20},
    )
    assert armed.status_code == 200
    assert totals(*old) == before[old]  # days before `since` keep their numbers
    after = totals(*recent)
    assert after["clicks"] == before[recent]["clicks"] and after["rows"] == before[recent]["rows"]
    assert float(after["conversions"]) > float(before[recent]["conversions"])
    assert float(after["revenue"]) > float(before[recent]["revenue"])
    assert float(totals(*recent, level="ad")["conversions"]) > float(before_ad["conversions"])
    bad = client.post("/_emulator/late_attribution", json={"account_id": "nope", "since": "x"})
    assert bad.status_code == 404
    assert client.post("/_emulator/reset").status_code == 200
    assert totals(*recent) == before[recent]
