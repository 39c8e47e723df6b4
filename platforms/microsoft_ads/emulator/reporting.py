"""Reporting v13: Submit, Poll (Pending for a few polls, then Success) and the download.

The file is built at Submit time so later polls are cheap and a report never changes
under a client. Download URLs carry an expiry and an HMAC, like an Azure SAS URL, and
need no Authorization header; an expired one answers 403 AuthenticationFailed.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, g, request

from .faults import ad_api_fault, operation_fault
from .guard import CallContext, api_operation, apply_injected_fault, get_world
from .report_builder import table
from .report_file import build_zip, header_lines
from .report_request import plan_report
from .state import ReportJob, World

bp = Blueprint("reporting", __name__)
SERVICE = "reporting"


def _signature(world: World, report_id: str, expiry: str) -> str:
    return hmac.new(world.url_secret, f"{report_id}|{expiry}".encode(), hashlib.sha256).hexdigest()


def download_url(world: World, report_id: str) -> str:
    expiry = (world.now() + timedelta(seconds=world.config.report_url_ttl)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    base = world.config.public_base_url or request.host_url.rstrip("/")
    sig = _signature(world, report_id, expiry)
    return f"{base}/reports/download/{report_id}.zip?sv=2025-01-05&sr=b&sp=r&se={expiry}&sig={sig}"


@bp.post("/Reporting/v13/GenerateReport/Submit")
@api_operation("SubmitGenerateReport", SERVICE)
def submit(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    world = ctx.world
    plan = plan_report(ctx, body)
    pending = [j for j in world.reports.values() if j.user_id == ctx.user.id and j.polls_left > 0]
    if len(pending) >= world.config.max_concurrent_reports:
        raise ad_api_fault(207, 400)
    cells = table(world, plan)
    content = None
    if cells:
        now = world.now()
        header = (
            None
            if plan.exclude_header
            else header_lines(
                plan.name, plan.start, plan.end, plan.time_zone, plan.aggregation, len(cells), now
            )
        )
        columns = None if plan.exclude_column_headers else plan.columns
        footer = None if plan.exclude_footer else now.year
        report_id = world.next_report_id()
        content = build_zip(f"{report_id}.csv", header, columns, cells, footer, plan.delimiter)
    else:
        report_id = world.next_report_id()
    world.reports[report_id] = ReportJob(
        report_id, ctx.user.id, ctx.customer_id, world.config.report_polls_until_ready, content,
        f"{report_id}.zip", world.now(), failed=bool(getattr(g, "report_error", False)),
    )  # fmt: skip
    return {"ReportRequestId": report_id}


@bp.post("/Reporting/v13/GenerateReport/Poll")
@api_operation("PollGenerateReport", SERVICE)
def poll(ctx: CallContext, body: dict[str, Any]) -> dict[str, Any]:
    job = ctx.world.reports.get(str(body.get("ReportRequestId") or ""))
    if job is None or job.user_id != ctx.user.id:
        raise operation_fault(SERVICE, 2100)
    if job.polls_left > 0:
        job.polls_left -= 1
        return {"ReportRequestStatus": {"Status": "Pending", "ReportDownloadUrl": None}}
    if job.failed:
        return {"ReportRequestStatus": {"Status": "Error", "ReportDownloadUrl": None}}
    url = download_url(ctx.world, job.id) if job.content else None
    return {"ReportRequestStatus": {"Status": "Success", "ReportDownloadUrl": url}}


def _azure_error(code: str, message: str, status: int) -> Response:
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><Error><Code>'
        f"{code}</Code><Message>{message}</Message></Error>"
    )
    return Response(xml, status=status, mimetype="application/xml")


@bp.get("/reports/download/<report_id>.zip")
def download(report_id: str) -> Response:
    world = get_world()
    g.operation = "DownloadReport"
    fault = world.take_fault("DownloadReport")
    if fault is not None:
        apply_injected_fault(fault, SERVICE)
    expiry = request.args.get("se", "")
    good = hmac.compare_digest(request.args.get("sig", ""), _signature(world, report_id, expiry))
    if not good:
        return _azure_error("AuthenticationFailed", "Signature did not match.", 403)
    try:
        expires = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return _azure_error("AuthenticationFailed", "Invalid expiry.", 403)
    if expires <= world.now():
        return _azure_error("AuthenticationFailed", "Signed expiry time has passed.", 403)
    job = world.reports.get(report_id)
    if job is None or job.content is None:
        return _azure_error("BlobNotFound", "The specified blob does not exist.", 404)
    return Response(job.content, mimetype="application/x-zip-compressed",
                    headers={"Content-Disposition": f"attachment; filename={job.file_name}"})  # fmt: skip
