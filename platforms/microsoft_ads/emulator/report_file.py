"""The downloadable report: a ZIP holding one UTF-8-with-BOM CSV laid out as Microsoft does.

Layout (each part optional through the request's Exclude* flags): quoted metadata lines,
a blank line, the column-name row, data rows, a blank line, the copyright footer.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime, timedelta

TIME_ZONE_LABELS = {
    "PacificTimeUSCanadaTijuana": "(GMT-08:00) Pacific Time (US & Canada); Tijuana",
    "EasternTimeUSCanada": "(GMT-05:00) Eastern Time (US & Canada)",
    "GreenwichMeanTimeDublinEdinburghLisbonLondon": "(GMT) Greenwich Mean Time : Dublin, Edinburgh, Lisbon, London",
    "AmsterdamBerlinBernRomeStockholmVienna": "(GMT+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
}


def us_date(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def us_datetime(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    half = "AM" if moment.hour < 12 else "PM"
    return f"{us_date(moment.date())} {hour}:{moment.minute:02d}:{moment.second:02d} {half} (GMT)"


def header_lines(
    name: str, start: date, end: date, zone: str, aggregation: str, rows: int, now: datetime
) -> list[str]:
    # No space after the comma: Microsoft's own SDK splits on "," and parses each side as is.
    period = us_date(start) if start == end else f"{us_date(start)},{us_date(end)}"
    completed = now.replace(minute=10, second=0, microsecond=0)
    incomplete = end >= now.date() - timedelta(days=1)
    return [
        f"Report Name: {name}",
        f"Report Time: {period}",
        f"Time Zone: {TIME_ZONE_LABELS.get(zone, zone)}",
        f"Last Completed Available Day: {us_datetime(completed)}",
        f"Last Completed Available Hour: {us_datetime(completed)}",
        f"Report Aggregation: {aggregation}",
        "Report Filter: ",
        f"Potential Incomplete Data: {'true' if incomplete else 'false'}",
        f"Rows: {rows}",
    ]


def build_zip(
    member: str,
    header: list[str] | None,
    columns: list[str] | None,
    rows: list[list[str]],
    footer_year: int | None,
    delimiter: str = ",",
) -> bytes:
    """Write the CSV (all cells quoted, CRLF) with a BOM and wrap it in a ZIP archive."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    if header is not None:
        for line in header:
            writer.writerow([line])
        text.write("\r\n")
    if columns is not None:
        writer.writerow(columns)
    writer.writerows(rows)
    if footer_year is not None:
        text.write("\r\n")
        writer.writerow([f"\u00a9{footer_year} Microsoft Corporation. All rights reserved. "])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, "\ufeff" + text.getvalue())
    return buffer.getvalue()
