"""The ``/_emulator/`` control API: what tests and the demo use to steer the emulator.

JSON in, JSON out, no authentication (the emulator only ever listens on loopback). It can
arm faults, revoke or expire tokens, reset the world, hand back everything received,
mint ad clicks and grant consent without a browser.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request
from werkzeug.wrappers import Response

from platforms.emulator_kit.control import add_common_routes, fault_request_error, with_query
from platforms.emulator_kit.control import bad as _bad
from platforms.emulator_kit.control import json_body as _json

from .aad import redirect_uri_allowed, unknown_scopes
from .conversions import is_pending
from .guard import get_world
from .metrics import totals
from .state import Click, InjectedFault, World, iso
from .tokens import issue_code, revoke_user
from .uet import read_back as uet_read_back

bp = Blueprint("control", __name__, url_prefix="/_emulator")
FAULT_KINDS = ("throttle", "internal", "slow", "drop", "too_many_reports", "expired_token",
               "invalid_token", "report_error", "bare", "unindexed_errors")  # fmt: skip
OPERATIONS = (
    "*", "Token", "GetUser", "SearchAccounts", "GetAccount", "GetConversionGoalsByIds",
    "ApplyOfflineConversions", "ApplyOfflineConversionAdjustments", "GetAccountProperties",
    "SetAccountProperties", "GetCampaignsByAccountId", "GetAdGroupsByCampaignId",
    "GetAdsByAdGroupId", "GetOfflineConversionReportByGoalIds", "SubmitGenerateReport",
    "GetCustomersInfo", "GetAccountsInfo",
    "PollGenerateReport", "DownloadReport", "UetCapiEvents",
)  # fmt: skip
add_common_routes(bp, get_world, FAULT_KINDS, OPERATIONS)


@bp.get("/state")
def state() -> Any:
    """The seeded ids, so tests and people never have to copy them from the README."""
    world = get_world()
    with world.lock:
        return jsonify({
            "config": {"client_id": world.config.client_id, "redirect_uris": list(world.config.redirect_uris),
                       "developer_token": world.config.developer_token,
                       "access_token_ttl": world.config.access_token_ttl},
            "seeded_at": iso(world.seeded_at),
            "users": [{"id": u.id, "email": u.email, "customer_id": u.customer_id,
                       "account_ids": [a.id for a in world.accessible_accounts(u)]}
                      for u in world.users.values()],
            "customers": [{"id": c.id, "name": c.name} for c in world.customers.values()],
            "accounts": [{"id": a.id, "name": a.name, "customer_id": a.parent_customer_id,
                          "currency": a.currency, "time_zone": a.time_zone, "status": a.status,
                          "properties": a.properties} for a in world.accounts.values()],
            "goals": [{"id": g.id, "name": g.name, "scope": g.scope, "account_id": g.account_id,
                       "customer_id": g.customer_id, "status": g.status, "enhanced": g.enhanced,
                       "externally_attributed": g.externally_attributed,
                       "created_at": iso(g.created_at)} for g in world.goals.values()],
            "campaigns": [{"id": c.id, "account_id": c.account_id, "name": c.name,
                           "type": c.campaign_type, "status": c.status}
                          for c in world.campaigns.values()],
        })  # fmt: skip


@bp.post("/faults")
def arm_fault() -> Any:
    body = _json()
    error = fault_request_error(body, OPERATIONS, FAULT_KINDS)
    if error:
        return _bad(error)
    status = body.get("status")
    try:
        fault = InjectedFault(body.get("operation", "*"), body["kind"], int(body.get("count", 1)),
                              status=int(status) if status else None,
                              delay_seconds=float(body.get("delay_seconds", 2.0)))  # fmt: skip
    except (TypeError, ValueError):
        return _bad("count and delay_seconds must be numbers")
    get_world().arm_fault(fault)
    return jsonify({"armed": vars(fault)}), 201


@bp.post("/users/<key>/revoke")
def revoke(key: str) -> Any:
    world = get_world()
    user = world.user_by_key(key)
    if user is None:
        return _bad("unknown user", 404)
    return jsonify({"user_id": user.id, "revoked_refresh_tokens": revoke_user(world, user.id)})


def _records(kind: str) -> Any:
    """Every row received; ``Pending`` marks accepted rows Microsoft has not matched yet (the
    diagnostics operation leaves them out until ``ProcessedAt``)."""
    world = get_world()
    account_id = request.args.get("account_id")
    with world.lock:
        items = world.conversions if kind == "conversions" else world.adjustments
        now = world.now()
        found = [
            {**r, "Pending": is_pending(r, now)}
            for r in items
            if not account_id or r["AccountId"] == account_id
        ]
        pending = sum(1 for r in found if r["Pending"])
        return jsonify({kind: found, "count": len(found), "pending": pending})


@bp.get("/conversions")
def conversions() -> Any:
    return _records("conversions")


@bp.get("/adjustments")
def adjustments() -> Any:
    return _records("adjustments")


def _mint_click(world: World, args: dict[str, Any]) -> Click | tuple[Response, int]:
    account = world.accounts.get(str(args.get("account_id") or ""))
    if account is None:
        return _bad("unknown account_id", 404)
    campaign_id = args.get("campaign_id")
    if campaign_id == "random":  # the demo's traffic: any of the account's Search campaigns
        ids = sorted(c.id for c in world.campaigns.values()
                     if c.account_id == account.id and c.campaign_type == "Search")  # fmt: skip
        campaign_id = ids[uuid.uuid4().int % len(ids)] if ids else None
    if not campaign_id:
        campaign_id = next((c.id for c in sorted(world.campaigns.values(), key=lambda c: c.id)
                            if c.account_id == account.id and c.campaign_type == "Search"), None)  # fmt: skip
    group_id = args.get("ad_group_id") or next(
        (
            g.id
            for g in sorted(world.ad_groups.values(), key=lambda g: g.id)
            if g.campaign_id == campaign_id
        ),
        None,
    )
    ad_id = args.get("ad_id") or next(
        (a.id for a in sorted(world.ads.values(), key=lambda a: a.id) if a.ad_group_id == group_id),
        None,
    )
    at = world.now()
    if args.get("at"):
        at = datetime.fromisoformat(str(args["at"]).replace("Z", "+00:00"))
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    click = Click(
        uuid.uuid4().hex, account.id, campaign_id, group_id, ad_id, at, args.get("landing")
    )
    with world.lock:
        world.clicks[click.msclkid] = click
    return click


def _click_json(click: Click) -> dict[str, Any]:
    return {**vars(click), "clicked_at": iso(click.clicked_at)}


@bp.get("/click")
def click_redirect() -> Any:
    """An ad click: 302 to the landing page with a fresh msclkid, like auto-tagging does."""
    landing = request.args.get("landing", "")
    if not landing.startswith(("http://", "https://")):
        return _bad("landing must be an absolute http(s) URL")
    result = _mint_click(get_world(), dict(request.args))
    if not isinstance(result, Click):
        return result
    added = {"msclkid": result.msclkid}
    world = get_world()
    campaign = world.campaigns.get(result.campaign_id or "")
    group = world.ad_groups.get(result.ad_group_id or "")
    if request.args.get("utm") == "1" and campaign is not None:
        # The account's UTM auto-tagging: source, medium, campaign name, ad group name.
        added.update(utm_source="bing", utm_medium="cpc", utm_campaign=campaign.name)
        if group is not None:
            added["utm_content"] = group.name
    suffix = request.args.get("suffix", "")
    if suffix and campaign is not None:  # a Final URL suffix with its URL parameters filled in
        suffix = suffix.replace("{CampaignId}", campaign.id)
        suffix = suffix.replace("{AdGroupId}", group.id if group is not None else "")
    return redirect(with_query(landing, urlencode(added), suffix), code=302)


@bp.post("/clicks")
def create_click() -> Any:
    result = _mint_click(get_world(), _json())
    if not isinstance(result, Click):
        return result
    return jsonify(_click_json(result)), 201


@bp.get("/clicks")
def list_clicks() -> Any:
    world = get_world()
    with world.lock:
        return jsonify({"clicks": [_click_json(c) for c in world.clicks.values()]})


@bp.post("/consent")
def consent() -> Any:
    """Grant consent without a browser: returns the code the redirect would have carried."""
    world = get_world()
    body = _json()
    user = world.user_by_key(
        str(body.get("user") or body.get("user_id") or body.get("email") or "")
    )
    if user is None:
        return _bad("unknown user", 404)
    client_id = body.get("client_id", world.config.client_id)
    redirect_uri = body.get("redirect_uri", world.config.redirect_uris[0])
    if client_id != world.config.client_id:
        return _bad("unknown client_id")
    if not redirect_uri_allowed(redirect_uri, world.config.redirect_uris):
        return _bad("redirect_uri is not registered")
    scopes = str(body.get("scope", "https://ads.microsoft.com/msads.manage offline_access")).split()
    if unknown_scopes(scopes):
        return _bad(f"unknown scopes {unknown_scopes(scopes)}")
    code = issue_code(world, user, client_id, redirect_uri, scopes, body.get("code_challenge"),
                      body.get("code_challenge_method"))  # fmt: skip
    values = {"code": code, **({"state": body["state"]} if body.get("state") else {})}
    url = with_query(redirect_uri, urlencode(values))
    return jsonify({"code": code, "redirect_url": url, "user_id": user.id}), 201


@bp.get("/metrics")
def metrics() -> Any:
    """Expected totals of a report for accounts, range and level (campaign, ad_group, ad)."""
    world = get_world()
    ids = [a for a in request.args.get("account_id", "").split(",") if a]
    level = request.args.get("level", "campaign")
    if (
        not ids
        or any(a not in world.accounts for a in ids)
        or level not in ("campaign", "ad_group", "ad")
    ):
        return _bad("need account_id (known, comma-separated) and level campaign|ad_group|ad")
    try:
        start = date.fromisoformat(request.args["start"])
        end = date.fromisoformat(request.args["end"])
    except (KeyError, ValueError):
        return _bad("need start and end as YYYY-MM-DD")
    with world.lock:
        return jsonify(totals(world, level, ids, start, end))


@bp.post("/attribution_delay")
def attribution_delay() -> Any:
    """``{"minutes": 0}``: how long Microsoft takes to match uploads from now on (until reset);
    rows already received keep their time."""
    minutes = _json().get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
        return _bad("minutes must be a non-negative integer")
    world = get_world()
    with world.lock:
        world.attribution_delay_minutes = minutes
    return jsonify({"attribution_delay_minutes": minutes})


@bp.post("/late_attribution")
def late_attribution() -> Any:
    """Credit late conversions: from ``since`` on, ``percent`` of each day's clicks convert
    after the fact, so a re-pull of recent days must see higher conversions and revenue."""
    world = get_world()
    body = _json()
    account_id = str(body.get("account_id") or "")
    if account_id not in world.accounts:
        return _bad("unknown account_id", 404)
    try:
        since = date.fromisoformat(str(body["since"]))
        percent = int(body.get("percent", 10))
    except (KeyError, ValueError):
        return _bad("need since (YYYY-MM-DD) and an integer percent")
    if not 0 <= percent <= 100:
        return _bad("percent must be between 0 and 100")
    with world.lock:
        world.late_attribution[account_id] = (since, percent)
    return jsonify({"account_id": account_id, "since": since.isoformat(), "percent": percent})


@bp.post("/uet/tags")
def uet_tag() -> Any:
    """``{"tag_id": "...", "token": "..."}``: a UET tag with the Conversions API on, or a new
    token for one (the old token stops working, as after Microsoft's token is regenerated)."""
    body = _json()
    tag_id, token = str(body.get("tag_id") or ""), str(body.get("token") or "")
    if not tag_id.isdigit() or not token:
        return _bad("tag_id (digits) and token are required")
    world = get_world()
    with world.lock:
        world.uet_tags[tag_id] = token
    return jsonify({"tag_id": tag_id})


@bp.get("/uet/events")
def uet_events() -> Any:
    """Accepted UET Conversions API events (optionally of one ``tag_id``), each once per
    (tag, eventId, eventName) with how many repeats were de-duplicated, plus the requests."""
    world = get_world()
    tag_id = request.args.get("tag_id")
    with world.lock:
        requests_seen = [r for r in world.uet_requests if tag_id is None or r["tag_id"] == tag_id]
    return jsonify({"events": uet_read_back(tag_id), "requests": requests_seen})
