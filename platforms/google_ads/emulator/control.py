"""The ``/_emulator/`` control API: what tests and the demo use to steer the emulator.

JSON in, JSON out, no authentication (the emulator only ever listens on loopback). It resets
the world, arms faults, revokes grants, expires tokens, grants consent without a browser (or
switches the authorize page to answer at once), mints ad clicks, and hands back everything
received.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, jsonify, redirect, request
from werkzeug.wrappers import Response

from platforms.emulator_kit.control import add_common_routes, fault_request_error, with_query
from platforms.emulator_kit.control import bad as _bad
from platforms.emulator_kit.control import json_body as _json

from . import datamanager, gaql, reporting
from .guard import get_world
from .oauth import SCOPES
from .seed import KNOWN_PEOPLE
from .state import ADWORDS_SCOPE, DATAMANAGER_SCOPE, Click, InjectedFault, World, iso
from .tokens import issue_code, revoke_grant

bp = Blueprint("control", __name__, url_prefix="/_emulator")
FAULT_KINDS = ("bare", "internal", "unavailable", "deadline", "resource_exhausted",
               "expired_token", "slow", "drop", "invalid_grant")  # fmt: skip
OPERATIONS = ("*", "Token", "ListAccessibleCustomers", "Search", "SearchStream",
              "IngestEvents", "RetrieveRequestStatus")  # fmt: skip
TOKEN_KINDS = ("bare", "internal", "unavailable", "slow", "drop", "invalid_grant")
add_common_routes(bp, get_world, FAULT_KINDS, OPERATIONS)


@bp.get("/state")
def state() -> Any:
    """The seeded ids and the live settings, so nobody copies them from the README."""
    world = get_world()
    with world.lock:
        return jsonify({
            "config": {"client_id": world.config.client_id,
                       "redirect_uris": list(world.redirect_uris),
                       "access_token_ttl": world.config.access_token_ttl,
                       "auto_consent": world.auto_consent,
                       "processing_delay_seconds": world.processing_delay_seconds,
                       "click_min_age_minutes": world.click_min_age_minutes,
                       "scopes": [ADWORDS_SCOPE, DATAMANAGER_SCOPE]},
            "seeded_at": iso(world.seeded_at),
            "users": [{"id": u.id, "email": u.email, "name": u.name,
                       "accessible_customers": list(u.customer_ids)} for u in world.users.values()],
            "customers": [{"id": c.id, "descriptive_name": c.descriptive_name,
                           "currency_code": c.currency_code, "time_zone": c.time_zone,
                           "manager": c.manager, "status": c.status, "parent_id": c.parent_id,
                           "test_account": c.test_account, "hidden": c.hidden}
                          for c in world.customers.values()],
            "conversion_actions": [{"id": a.id, "customer_id": a.customer_id, "name": a.name,
                                    "type": a.type, "status": a.status, "category": a.category,
                                    "counting_type": a.counting_type,
                                    "include_in_conversions_metric": a.include_in_conversions_metric,
                                    "click_through_lookback_window_days": a.click_through_lookback_window_days,
                                    "created_at": iso(a.created_at)}
                                   for a in world.conversion_actions.values()],
            "campaigns": [{"id": c.id, "customer_id": c.customer_id, "name": c.name,
                           "status": c.status, "advertising_channel_type": c.advertising_channel_type}
                          for c in world.campaigns.values()],
            "ad_groups": [{"id": a.id, "campaign_id": a.campaign_id, "name": a.name,
                           "status": a.status} for a in world.ad_groups.values()],
            "ads": [{"id": a.id, "ad_group_id": a.ad_group_id, "name": a.name, "type": a.type,
                     "status": a.status} for a in world.ads.values()],
            "asset_groups": [{"id": a.id, "campaign_id": a.campaign_id, "name": a.name,
                              "status": a.status} for a in world.asset_groups.values()],
        })  # fmt: skip


@bp.post("/faults")
def arm_fault() -> Any:
    """``{"operation": "IngestEvents", "kind": "resource_exhausted", "count": 2,
    "retry_delay_seconds": 30}``; ``bare`` needs ``status`` 401, 403 or 5xx."""
    body = _json()
    error = fault_request_error(body, OPERATIONS, FAULT_KINDS)
    if error:
        return _bad(error)
    operation, kind, status = body.get("operation", "*"), body["kind"], body.get("status")
    if operation == "Token" and kind not in TOKEN_KINDS:
        return _bad(f"on Token use one of {list(TOKEN_KINDS)}")
    if kind == "invalid_grant" and operation != "Token":
        return _bad("kind invalid_grant is for operation Token")
    try:
        fault = InjectedFault(operation, kind, int(body.get("count", 1)),
                              int(status) if status else None,
                              float(body.get("delay_seconds", 2.0)),
                              int(body.get("retry_delay_seconds", 30)))  # fmt: skip
    except (TypeError, ValueError):
        return _bad("count, delay_seconds and retry_delay_seconds must be numbers")
    if fault.remaining < 1:
        return _bad("count must be at least 1")
    get_world().arm_fault(fault)
    return jsonify({"armed": vars(fault)}), 201


@bp.post("/users/<key>/revoke")
def revoke(key: str) -> Any:
    """The user removes the app's access: every refresh and access token of the grant dies
    (refresh answers ``invalid_grant`` "Token has been expired or revoked.")."""
    world = get_world()
    user = world.user_by_key(key)
    if user is None:
        return _bad("unknown user", 404)
    client_id = _json().get("client_id")
    return jsonify({"user_id": user.id,
                    "revoked_refresh_tokens": revoke_grant(world, user.id, client_id)})  # fmt: skip


@bp.post("/consent")
def consent() -> Any:
    """Grant consent without a browser; returns the code the redirect would have carried.
    Body: user (e-mail or id), redirect_uri, scope, access_type (default offline), prompt,
    code_challenge, code_challenge_method, state, include_granted_scopes."""
    world = get_world()
    body = _json()
    user = world.user_by_key(str(body.get("user") or ""))
    if user is None:
        return _bad("unknown user", 404)
    client_id = body.get("client_id", world.config.client_id)
    redirect_uri = body.get("redirect_uri", world.redirect_uris[0])
    if client_id != world.config.client_id:
        return _bad("unknown client_id")
    if redirect_uri not in world.redirect_uris:
        return _bad("redirect_uri is not registered (exact match)")
    scopes = str(body.get("scope", f"{ADWORDS_SCOPE} {DATAMANAGER_SCOPE}")).split()
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        return _bad(f"unknown scopes {unknown}")
    method = body.get("code_challenge_method")
    if method not in (None, "", "S256", "plain"):
        return _bad("code_challenge_method must be S256 or plain")
    code, granted = issue_code(
        world, user, client_id, redirect_uri, scopes,
        offline=body.get("access_type", "offline") == "offline",
        prompt_consent="consent" in str(body.get("prompt", "")).split(),
        include_granted_scopes=bool(body.get("include_granted_scopes")),
        challenge=body.get("code_challenge") or None, challenge_method=method or None,
    )  # fmt: skip
    values = {**({"state": body["state"]} if body.get("state") else {}), "code": code,
              "scope": " ".join(granted)}  # fmt: skip
    url = with_query(redirect_uri, urlencode(values))
    return jsonify({"code": code, "redirect_url": url, "user_id": user.id, "scope": granted}), 201


@bp.route("/auto_consent", methods=["GET", "POST"])
def auto_consent() -> Any:
    """``{"user": "alex@fabrikam-agency.example"}`` = the authorize endpoint approves at once as
    that user (all requested scopes); ``{"user": "deny"}`` = it answers access_denied at once;
    ``{"user": ""}`` = the pages again."""
    world = get_world()
    if request.method == "POST":
        key = str(_json().get("user") or "")
        if key and key != "deny" and world.user_by_key(key) is None:
            return _bad("unknown user", 404)
        with world.lock:
            world.auto_consent = key
    return jsonify({"auto_consent": world.auto_consent})


@bp.route("/redirect_uris", methods=["GET", "POST"])
def redirect_uris() -> Any:
    """``{"redirect_uri": "http://127.0.0.1:8123/setup/platforms/google_ads/callback"}`` adds
    one (as adding it to the OAuth client in the Cloud console); matching stays exact."""
    world = get_world()
    if request.method == "POST":
        uri = str(_json().get("redirect_uri") or "")
        if not uri.startswith(("http://", "https://")):
            return _bad("redirect_uri must be an absolute http(s) URL")
        with world.lock:
            if uri not in world.redirect_uris:
                world.redirect_uris.append(uri)
    return jsonify({"redirect_uris": list(world.redirect_uris)})


# -- clicks -----------------------------------------------------------------------------------


def _mint_click(world: World, args: dict[str, Any]) -> Click | tuple[Response, int]:
    customer = world.customers.get(str(args.get("customer_id") or ""))
    if customer is None or customer.manager:
        return _bad("customer_id must be a known client (non-manager) account", 404)
    kind = str(args.get("kind") or "gclid")
    if kind not in ("gclid", "gbraid", "wbraid"):
        return _bad("kind must be gclid, gbraid or wbraid")
    campaigns = sorted((c for c in world.campaigns.values() if c.customer_id == customer.id),
                       key=lambda c: c.id)  # fmt: skip
    campaign_id = str(args.get("campaign_id") or "")
    if campaign_id == "random":
        enabled = [c for c in campaigns if c.status == "ENABLED"]
        campaign_id = secrets.choice(enabled).id if enabled else ""
    if not campaign_id:
        campaign_id = next((c.id for c in campaigns if c.status == "ENABLED"), "")
    campaign = world.campaigns.get(campaign_id)
    if campaign is None or campaign.customer_id != customer.id:
        return _bad("campaign_id is not a campaign of this customer", 404)
    group_id: str | None = None
    asset_group_id: str | None = None
    if campaign.advertising_channel_type == "PERFORMANCE_MAX":
        asset_group_id = str(args.get("asset_group_id") or "") or next(
            (a.id for a in sorted(world.asset_groups.values(), key=lambda a: a.id)
             if a.campaign_id == campaign.id), None)  # fmt: skip
    else:
        group_id = str(args.get("ad_group_id") or "") or next(
            (a.id for a in sorted(world.ad_groups.values(), key=lambda a: a.id)
             if a.campaign_id == campaign.id), None)  # fmt: skip
        if group_id and (group_id not in world.ad_groups
                         or world.ad_groups[group_id].campaign_id != campaign.id):  # fmt: skip
            return _bad("ad_group_id is not an ad group of this campaign", 404)
    at = world.now()
    if args.get("at"):
        try:
            at = datetime.fromisoformat(str(args["at"]).replace("Z", "+00:00"))
        except ValueError:
            return _bad("at must be an ISO 8601 date-time")
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    elif args.get("hours_ago") is not None:
        try:
            at = at - timedelta(hours=float(args["hours_ago"]))
        except (TypeError, ValueError):
            return _bad("hours_ago must be a number")
    prefix = {"gclid": "Cj0KCQiA", "gbraid": "0AAAAA", "wbraid": "CkQKEw"}[kind]
    click = Click(prefix + secrets.token_urlsafe(66), kind, customer.id, campaign.id, group_id,
                  asset_group_id, at, args.get("landing"))  # fmt: skip
    with world.lock:
        world.clicks[click.gclid] = click
    return click


def click_json(click: Click) -> dict[str, Any]:
    return {kind: click.gclid if kind == click.kind else None
            for kind in ("gclid", "gbraid", "wbraid")} | {
        "kind": click.kind, "customer_id": click.customer_id, "campaign_id": click.campaign_id,
        "ad_group_id": click.ad_group_id, "asset_group_id": click.asset_group_id,
        "clicked_at": iso(click.clicked_at), "landing_url": click.landing_url}  # fmt: skip


@bp.post("/clicks")
def create_click() -> Any:
    """``{"customer_id": "1234567890", "campaign_id": "20000001", "kind": "gclid",
    "at": "2026-10-01T10:00:00Z"}`` (or ``hours_ago``) → the click with its identifier."""
    result = _mint_click(get_world(), _json())
    if not isinstance(result, Click):
        return result
    return jsonify(click_json(result)), 201


@bp.get("/clicks")
def list_clicks() -> Any:
    world = get_world()
    with world.lock:
        return jsonify({"clicks": [click_json(c) for c in world.clicks.values()]})


@bp.get("/click")
def click_redirect() -> Any:
    """An ad click: 302 to ``landing`` with ``gclid=`` added, as auto-tagging does."""
    landing = request.args.get("landing", "")
    if not landing.startswith(("http://", "https://")):
        return _bad("landing must be an absolute http(s) URL")
    result = _mint_click(get_world(), dict(request.args))
    if not isinstance(result, Click):
        return result
    return redirect(with_query(landing, urlencode({result.kind: result.gclid})), code=302)


# -- Data Manager read-back -------------------------------------------------------------------


def _item_json(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in item.items() if k not in ("leaf", "day", "value_delta_cents")}
    out["click_day"] = item["day"].isoformat() if item["day"] else None
    return out


def _request_json(world: World, record: dict[str, Any]) -> dict[str, Any]:
    items = record["items"]
    processed = not record["validate_only"] and world.now() >= record["due_at"]
    succeeded = sum(1 for i in items if i["status"] == "SUCCESS")
    return {
        "request_id": record["request_id"], "user_id": record["user_id"],
        "received_at": iso(record["received_at"]), "due_at": iso(record["due_at"]),
        "validate_only": record["validate_only"], "processed": processed,
        "event_count": record["event_count"], "destinations": record["destinations"],
        "records": len(items), "succeeded": succeeded, "failed": len(items) - succeeded,
    }  # fmt: skip


@bp.get("/requests")
def list_requests() -> Any:
    """Every Data Manager request received: counts of records processed, succeeded, failed."""
    world = get_world()
    datamanager.process_due(world)
    with world.lock:
        return jsonify({"requests": [_request_json(world, r) for r in world.requests.values()]})


@bp.get("/requests/<request_id>")
def one_request(request_id: str) -> Any:
    world = get_world()
    datamanager.process_due(world)
    with world.lock:
        record = world.requests.get(request_id)
        if record is None:
            return _bad("unknown request_id", 404)
        return jsonify({**_request_json(world, record),
                        "events": [_item_json(i) for i in record["items"]]})  # fmt: skip


@bp.get("/events")
def list_events() -> Any:
    """Every event per destination with its outcome (``status`` SUCCESS/FAILED, ``reason``,
    ``adjustment``, ``pending`` until processed); filters: customer_id, conversion_action_id,
    request_id, transaction_id."""
    world = get_world()
    datamanager.process_due(world)
    filters = {k: request.args[k] for k in ("customer_id", "conversion_action_id", "request_id",
                                            "transaction_id") if request.args.get(k)}  # fmt: skip
    with world.lock:
        found = [_item_json(i) for i in world.events
                 if all(str(i.get(k)) == v for k, v in filters.items())]  # fmt: skip
    return jsonify({"events": found, "count": len(found)})


@bp.route("/processing_delay", methods=["GET", "POST"])
def processing_delay() -> Any:
    """``{"seconds": 0}``: how long requests received from now on stay PROCESSING."""
    world = get_world()
    if request.method == "POST":
        seconds = _json().get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 0:
            return _bad("seconds must be a non-negative integer")
        with world.lock:
            world.processing_delay_seconds = seconds
    return jsonify({"processing_delay_seconds": world.processing_delay_seconds})


@bp.post("/process")
def process_now() -> Any:
    """Finish processing every pending request now (their status leaves PROCESSING)."""
    world = get_world()
    with world.lock:
        now = world.now()
        count = 0
        for record in world.requests.values():
            if record["due_at"] > now:
                record["due_at"] = now
                count += 1
    datamanager.process_due(world)
    return jsonify({"processed": count})


@bp.route("/click_min_age", methods=["GET", "POST"])
def click_min_age() -> Any:
    """``{"minutes": 0}``: clicks younger than this fail with TOO_RECENT_CLICK."""
    world = get_world()
    if request.method == "POST":
        minutes = _json().get("minutes")
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 0:
            return _bad("minutes must be a non-negative integer")
        with world.lock:
            world.click_min_age_minutes = minutes
    return jsonify({"click_min_age_minutes": world.click_min_age_minutes})


@bp.get("/people")
def people() -> Any:
    """The people whose hashed e-mail or phone match (enhanced conversions for leads): the
    normalised values and their SHA-256 in hex and base64."""

    def hashes(value: str) -> dict[str, str]:
        digest = hashlib.sha256(value.encode()).digest()
        return {"value": value, "sha256_hex": digest.hex(),
                "sha256_base64": base64.b64encode(digest).decode()}  # fmt: skip

    return jsonify({"people": [{"email": hashes(e), "phone": hashes(p)} for e, p in KNOWN_PEOPLE]})


@bp.get("/metrics")
def metrics_totals() -> Any:
    """Expected report totals for one customer, level and range, computed by the same GAQL
    engine the API uses: ``?customer_id=1234567890&level=campaign&start=2026-10-01&end=2026-10-14``
    (``level`` = customer, campaign, ad_group, ad_group_ad, asset_group)."""
    world = get_world()
    customer = world.customers.get(request.args.get("customer_id", ""))
    level = request.args.get("level", "campaign")
    if customer is None or customer.manager:
        return _bad("customer_id must be a known client (non-manager) account")
    if level not in ("customer", "campaign", "ad_group", "ad_group_ad", "asset_group"):
        return _bad("level must be customer, campaign, ad_group, ad_group_ad or asset_group")
    try:
        start = date.fromisoformat(request.args["start"])
        end = date.fromisoformat(request.args["end"])
    except (KeyError, ValueError):
        return _bad("need start and end as YYYY-MM-DD")
    fields = "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.conversions_value"
    query = gaql.parse(" ".join(("SELECT", fields, "FROM", level, "WHERE segments.date BETWEEN",
                                 f"'{start.isoformat()}' AND '{end.isoformat()}'")))  # fmt: skip
    datamanager.process_due(world)
    with world.lock:
        rows = reporting.execute(world, customer, query)
    sums = {
        "impressions": 0,
        "clicks": 0,
        "cost_micros": 0,
        "conversions": 0.0,
        "conversions_value": 0.0,
    }
    for row in rows:
        m = row.get("metrics", {})
        sums["impressions"] += int(m.get("impressions", 0))
        sums["clicks"] += int(m.get("clicks", 0))
        sums["cost_micros"] += int(m.get("costMicros", 0))
        sums["conversions"] += float(m.get("conversions", 0))
        sums["conversions_value"] += float(m.get("conversionsValue", 0))
    sums["conversions"] = round(sums["conversions"], 2)
    sums["conversions_value"] = round(sums["conversions_value"], 2)
    return jsonify({"customer_id": customer.id, "level": level, "start": start.isoformat(),
                    "end": end.isoformat(), "rows": len(rows), **sums})  # fmt: skip
