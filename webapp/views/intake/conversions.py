"""Conversions: the list (filter by event, source, dates, or an id) and one conversion's journey
and delivery timeline per ad platform."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import render_template, request

from webapp.inputs import db_int, parse_day
from webapp.intake import conversion_reports, tracking
from webapp.push import timeline
from webapp.views.scope import current_membership, workspace_blueprint

bp = workspace_blueprint("conversions", __name__, "/conversions")

SOURCES = ("pixel", "api", "stripe")


def _date(name: str) -> datetime | None:
    try:
        day = parse_day(request.args.get(name, ""))
    except ValueError:
        return None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@bp.get("/")
def index():  # noqa: ANN201
    membership = current_membership()
    until = _date("until")
    filters = conversion_reports.Filters(
        event=request.args.get("event", "")[:64],
        source=request.args.get("source", "") if request.args.get("source") in SOURCES else "",
        search=request.args.get("q", "")[:255].strip(),
        since=_date("since"),
        until=until + timedelta(days=1) if until else None,
    )
    page = max(request.args.get("page", 1, type=db_int) or 1, 1)
    rows, total = conversion_reports.listing(membership.workspace_id, filters, page)
    clicks = conversion_reports.click_ids_by_visitor({c.visitor_id for c in rows if c.visitor_id})
    return render_template(
        "conversions/index.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // conversion_reports.PAGE_SIZE)),
        clicks=clicks,
        filters=filters,
        events=tracking.events(membership.workspace_id),
        sources=SOURCES,
    )


@bp.get("/<int:conversion_id>")
def detail(conversion_id: int):  # noqa: ANN201
    membership = current_membership()
    conversion = conversion_reports.get(membership.workspace_id, conversion_id)
    return render_template(
        "conversions/detail.html",
        conversion=conversion,
        resolved=conversion_reports.resolved_clicks(conversion),
        journey=conversion_reports.journey(conversion),
        deliveries=timeline.for_conversion(conversion),
        clicks=conversion_reports.click_ids_by_visitor(
            {conversion.visitor_id} if conversion.visitor_id else set()
        ).get(conversion.visitor_id, []),
    )
