"""Data Manager API v1: ``events:ingest`` and ``requestStatus:retrieve`` for Google Ads offline
conversions (and enhanced conversions for leads).

Fast-fail as Google documents it: a request whose JSON, destinations or any single event fails
validation is refused whole (400 ``INVALID_ARGUMENT``, nothing stored), with a ``BadRequest``
detail naming every offending field (``events[3].ad_identifiers`` ...). An accepted request gets
a ``requestId``; its events are matched to clicks and counted per destination, and
``requestStatus:retrieve`` reports ``PROCESSING`` until the processing delay has passed, then
``SUCCESS`` / ``PARTIAL_SUCCESS`` / ``FAILED`` with record counts and error counts per reason.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, g, request

from .currencies import ISO_4217
from .entities import ConversionAction, Customer
from .guard import CallContext, authenticate, get_world
from .metrics import Stats, local_date
from .protojson import JsonError, enum_values, parse_message, to_json
from .rpc import BAD_REQUEST, REQUEST_INFO, ApiError, error_info, status_error
from .seed import KNOWN_PEOPLE
from .state import Click, World, iso

bp = Blueprint("datamanager", __name__, url_prefix="/v1")
DOMAIN = "datamanager.googleapis.com"
MAX_EVENTS = 2000
MAX_DESTINATIONS = 10
MAX_IDENTIFIERS = 10
STATUS_RETENTION_DAYS = 50
PROBLEM = "There was a problem with the request."
NO_PERMISSION = "The caller does not have permission"
DESCRIPTIONS = {
    "REQUIRED_FIELD_MISSING": "Required field is missing.",
    "INVALID_FORMAT": "Format is invalid.",
    "INVALID_HEX_ENCODING": "The HEX encoded value is malformed.",
    "INVALID_BASE64_ENCODING": "The base64 encoded value is malformed.",
    "INVALID_SHA256_FORMAT": "The SHA256 encoded value is malformed.",
    "INVALID_COUNTRY_CODE": "Country code is not valid.",
    "TOO_MANY_USER_IDENTIFIERS": "Maximum number of user identifiers allowed per event is 10.",
    "TOO_MANY_DESTINATIONS": "Maximum number of destinations allowed per request is 10.",
    "INVALID_DESTINATION": "This Destination is not valid.",
    "INVALID_NUMBER_FORMAT": "Invalid number format.",
    "INVALID_CONVERSION_ACTION_ID": "The conversion action ID is not valid.",
    "INVALID_CONVERSION_ACTION_TYPE": "The conversion action type is not supported.",
    "INVALID_CURRENCY_CODE": "The currency code is not supported.",
    "INVALID_EVENT": "This event is not valid.",
    "TOO_MANY_EVENTS": "Maximum number of events allowed per request is 2,000.",
    "DUPLICATE_DESTINATION_REFERENCE": "Destination references must be unique.",
    "NO_IDENTIFIERS_PROVIDED": "At least one identifier (ad identifier or user data) is required.",
    "OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH": "The operating account is not accessible "
    "through the login account.",
    "EVENT_TIME_INVALID": "The event time is not valid.",
    "LINKED_ACCOUNT_ONLY_ALLOWED_WITH_DATA_PARTNER_LOGIN_ACCOUNT": "A linked account is only "
    "allowed with a data partner login account.",
    "CONVERSION_ACTION_TOO_RECENTLY_CREATED": "The conversion action was created too recently.",
    "INVALID_ARGUMENT": "There was a problem with the request.",
}


class Violations:
    """Collects ``BadRequest.FieldViolation`` entries; Google reports them all at once."""

    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, field: str, reason: str, description: str | None = None) -> None:
        if len(self.items) < 100:
            self.items.append({"field": field, "description": description or DESCRIPTIONS[reason],
                               "reason": reason})  # fmt: skip

    def raise_if_any(self) -> None:
        if self.items:
            raise invalid(self.items)


def invalid(violations: list[dict[str, str]], status: str = "INVALID_ARGUMENT") -> ApiError:
    reason = violations[0]["reason"]
    return status_error(status, PROBLEM if status == "INVALID_ARGUMENT" else NO_PERMISSION, [
        error_info(reason, DOMAIN, {"requestId": g.request_id}),
        {"@type": REQUEST_INFO, "requestId": g.request_id},
        {"@type": BAD_REQUEST, "fieldViolations": violations},
    ])  # fmt: skip


def int_enums() -> bool:
    """``$alt=json;enum-encoding=int`` (what Google's REST clients send) → enums as numbers."""
    alt = request.args.get("$alt", "")
    return "enum-encoding=int" in alt.replace(" ", "")


# -- hashing -------------------------------------------------------------------------------------


def _digest(value: str, encoding: str) -> bytes | str:
    """The SHA-256 bytes of a hashed identifier, or the ErrorReason that refuses it."""
    if encoding == "HEX":
        if not re.fullmatch(r"[0-9a-fA-F]*", value) or len(value) % 2:
            return "INVALID_HEX_ENCODING"
        raw = bytes.fromhex(value)
    else:
        if not re.fullmatch(r"[A-Za-z0-9+/_-]*={0,2}", value):
            return "INVALID_BASE64_ENCODING"
        try:
            standard = value.replace("-", "+").replace("_", "/")
            raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError):
            return "INVALID_BASE64_ENCODING"
    return raw if len(raw) == 32 else "INVALID_SHA256_FORMAT"


def known_identity_hashes() -> set[str]:
    """SHA-256 (hex) of the normalised e-mails and phones of the seeded people."""
    return {hashlib.sha256(v.encode()).hexdigest() for person in KNOWN_PEOPLE for v in person}


# -- validation ----------------------------------------------------------------------------------


def _account(vio: Violations, account: dict[str, Any] | None, path: str, required: bool) -> None:
    if account is None:
        if required:
            vio.add(path, "REQUIRED_FIELD_MISSING")
        return
    account_id = account.get("account_id", "")
    account_type = account.get("account_type", "ACCOUNT_TYPE_UNSPECIFIED")
    product = account.get("product")
    if not account_id:
        vio.add(f"{path}.account_id", "REQUIRED_FIELD_MISSING")
    elif not re.fullmatch(r"\d+", account_id):
        vio.add(f"{path}.account_id", "INVALID_NUMBER_FORMAT")
    if account_type in ("ACCOUNT_TYPE_UNSPECIFIED", 0) and product in (None, "PRODUCT_UNSPECIFIED"):
        vio.add(f"{path}.account_type", "REQUIRED_FIELD_MISSING")
    elif product not in (None, "PRODUCT_UNSPECIFIED") and account_type not in (
        "ACCOUNT_TYPE_UNSPECIFIED", product):  # fmt: skip
        vio.add(f"{path}.product", "INVALID_DESTINATION",
                "product and account_type are both set and do not match.")  # fmt: skip
    elif (account_type if account_type != "ACCOUNT_TYPE_UNSPECIFIED" else product) != "GOOGLE_ADS":
        vio.add(f"{path}.account_type", "INVALID_DESTINATION",
                "This Destination is not valid. (The emulator serves Google Ads accounts only.)")  # fmt: skip


def validate_structure(body: dict[str, Any], now: datetime) -> None:
    vio = Violations()
    destinations = body.get("destinations", [])
    events = body.get("events", [])
    if not destinations:
        vio.add("destinations", "REQUIRED_FIELD_MISSING")
    if len(destinations) > MAX_DESTINATIONS:
        vio.add("destinations", "TOO_MANY_DESTINATIONS")
    references: set[str] = set()
    for i, dest in enumerate(destinations):
        path = f"destinations[{i}]"
        ref = dest.get("reference")
        if ref:
            if ref in references:
                vio.add(f"{path}.reference", "DUPLICATE_DESTINATION_REFERENCE")
            references.add(ref)
        _account(vio, dest.get("operating_account"), f"{path}.operating_account", True)
        _account(vio, dest.get("login_account"), f"{path}.login_account", False)
        if dest.get("linked_account") is not None:
            login_type = (dest.get("login_account") or {}).get("account_type")
            if login_type != "DATA_PARTNER":
                vio.add(f"{path}.linked_account", "LINKED_ACCOUNT_ONLY_ALLOWED_WITH_DATA_PARTNER_LOGIN_ACCOUNT")  # fmt: skip
        product_id = dest.get("product_destination_id", "")
        if not product_id:
            vio.add(f"{path}.product_destination_id", "REQUIRED_FIELD_MISSING")
        elif not re.fullmatch(r"\d+", product_id):
            vio.add(f"{path}.product_destination_id", "INVALID_NUMBER_FORMAT")
    if not events:
        vio.add("events", "REQUIRED_FIELD_MISSING")
    if len(events) > MAX_EVENTS:
        vio.add("events", "TOO_MANY_EVENTS")
        vio.raise_if_any()
    encoding = body.get("encoding", "ENCODING_UNSPECIFIED")
    if body.get("encryption_info") is not None:
        vio.add("encryption_info", "INVALID_ARGUMENT",
                "Encrypted user identifiers are not supported by this emulator.")  # fmt: skip
    for i, event in enumerate(events):
        _event(vio, event, f"events[{i}]", references, encoding, now)
    vio.raise_if_any()


def _event(vio: Violations, event: dict[str, Any], path: str, references: set[str],
           encoding: str, now: datetime) -> None:  # fmt: skip
    moment = event.get("event_timestamp")
    if moment is None:
        vio.add(f"{path}.event_timestamp", "REQUIRED_FIELD_MISSING")
    elif moment > now + timedelta(minutes=5):
        vio.add(f"{path}.event_timestamp", "EVENT_TIME_INVALID",
                "The event time is not valid. (It is in the future.)")  # fmt: skip
    for j, ref in enumerate(event.get("destination_references", [])):
        if ref not in references:
            vio.add(f"{path}.destination_references[{j}]", "INVALID_DESTINATION",
                    f"No destination has the reference '{ref}'.")  # fmt: skip
    currency = event.get("currency")
    if currency is not None and currency not in ISO_4217:
        vio.add(f"{path}.currency", "INVALID_CURRENCY_CODE")
    value = event.get("conversion_value")
    if value is not None and (value != value or value in (float("inf"), float("-inf"))):
        vio.add(f"{path}.conversion_value", "INVALID_FORMAT")
    if event.get("event_source", "EVENT_SOURCE_UNSPECIFIED") == "EVENT_SOURCE_UNSPECIFIED":
        vio.add(f"{path}.event_source", "REQUIRED_FIELD_MISSING",
                "Required field is missing. (event_source is required for offline conversions.)")  # fmt: skip
    ids = event.get("ad_identifiers") or {}
    identifiers = (event.get("user_data") or {}).get("user_identifiers", [])
    if not any(ids.get(k) for k in ("gclid", "gbraid", "wbraid")) and not identifiers:
        vio.add(path, "NO_IDENTIFIERS_PROVIDED")
    if len(identifiers) > MAX_IDENTIFIERS:
        vio.add(f"{path}.user_data.user_identifiers", "TOO_MANY_USER_IDENTIFIERS")
    if identifiers and encoding == "ENCODING_UNSPECIFIED":
        vio.add("encoding", "REQUIRED_FIELD_MISSING",
                "Required field is missing. (encoding must be set when user data is sent.)")  # fmt: skip
    for j, identifier in enumerate(identifiers):
        where = f"{path}.user_data.user_identifiers[{j}]"
        if not identifier:
            vio.add(where, "REQUIRED_FIELD_MISSING")
        hashed = {k: identifier[k] for k in ("email_address", "phone_number") if k in identifier}
        address = identifier.get("address") or {}
        hashed.update(
            {f"address.{k}": address[k] for k in ("given_name", "family_name") if k in address}
        )
        for key, text in hashed.items():
            if encoding != "ENCODING_UNSPECIFIED":
                result = _digest(text, encoding)
                if isinstance(result, str):
                    vio.add(f"{where}.{key}", result)
        if "address" in identifier:
            region = address.get("region_code", "")
            if not re.fullmatch(r"[A-Z]{2}", region):
                vio.add(f"{where}.address.region_code", "INVALID_COUNTRY_CODE")
            if not address.get("postal_code"):
                vio.add(f"{where}.address.postal_code", "REQUIRED_FIELD_MISSING")


def _reachable(world: World, user_ids: tuple[str, ...], customer_id: str) -> bool:
    return any(world.is_under(customer_id, direct) for direct in user_ids)


def resolve_destinations(ctx: CallContext, body: dict[str, Any]) -> list[ConversionAction]:
    """Permissions first (403), then each destination's conversion action (400)."""
    world = ctx.world
    denied: list[dict[str, str]] = []
    for i, dest in enumerate(body["destinations"]):
        operating = dest["operating_account"]["account_id"]
        login = (dest.get("login_account") or {}).get("account_id")
        if login:
            if login not in world.customers or not _reachable(world, ctx.user.customer_ids, login):
                denied.append({"field": f"destinations[{i}].login_account.account_id",
                               "description": "The caller does not have permission to access "
                               "the login account.", "reason": "PERMISSION_DENIED"})  # fmt: skip
        elif operating not in ctx.user.customer_ids:
            denied.append({"field": f"destinations[{i}].operating_account.account_id",
                           "description": "The caller does not have permission to access the "
                           "operating account. (Set login_account to the manager account.)",
                           "reason": "PERMISSION_DENIED"})  # fmt: skip
    if denied:
        raise invalid(denied, "PERMISSION_DENIED")
    vio = Violations()
    actions: list[ConversionAction] = []
    now = world.now()
    min_age = timedelta(minutes=world.config.conversion_action_min_age_minutes)
    for i, dest in enumerate(body["destinations"]):
        path = f"destinations[{i}]"
        operating = dest["operating_account"]["account_id"]
        login = (dest.get("login_account") or {}).get("account_id")
        customer = world.customers.get(operating)
        if login and (customer is None or not world.is_under(operating, login)):
            vio.add(
                f"{path}.operating_account.account_id", "OPERATING_ACCOUNT_LOGIN_ACCOUNT_MISMATCH"
            )
            continue
        if customer is None or customer.manager or customer.status != "ENABLED":
            vio.add(f"{path}.operating_account.account_id", "INVALID_DESTINATION",
                    "This Destination is not valid. (The operating account must be an enabled "
                    "client account that owns the conversion action.)")  # fmt: skip
            continue
        action = world.conversion_actions.get(dest["product_destination_id"])
        if action is None or action.customer_id != operating or action.status == "REMOVED":
            vio.add(f"{path}.product_destination_id", "INVALID_CONVERSION_ACTION_ID")
            continue
        if action.type != "UPLOAD_CLICKS":
            vio.add(f"{path}.product_destination_id", "INVALID_CONVERSION_ACTION_TYPE")
            continue
        if action.created_at + min_age > now:
            vio.add(f"{path}.product_destination_id", "CONVERSION_ACTION_TOO_RECENTLY_CREATED")
            continue
        actions.append(action)
    vio.raise_if_any()
    return actions


# -- processing ----------------------------------------------------------------------------------


def _leaf(world: World, click: Click) -> str | None:
    if click.asset_group_id:
        return click.asset_group_id
    ads = sorted(a.id for a in world.ads.values() if a.ad_group_id == click.ad_group_id)
    return ads[0] if ads else None


def _outcome(world: World, body: dict[str, Any], event: dict[str, Any], action: ConversionAction,
             customer: Customer) -> dict[str, Any]:  # fmt: skip
    """Decide what Google's processing will make of one event for one destination."""
    now = world.now()
    consent = {**(body.get("consent") or {}), **(event.get("consent") or {})}
    result: dict[str, Any] = {"status": "FAILED", "reason": None, "click": None, "leaf": None,
                              "day": None, "adjustment": False}  # fmt: skip
    if consent.get("ad_user_data") == "CONSENT_DENIED":
        result["reason"] = "PROCESSING_ERROR_REASON_DENIED_CONSENT"
        return result
    ids = event.get("ad_identifiers") or {}
    kind = next((k for k in ("gclid", "gbraid", "wbraid") if ids.get(k)), None)
    moment: datetime = event["event_timestamp"]
    dedup_key: tuple[str, ...]
    if kind is not None:
        value = ids[kind]
        if kind != "gclid" and action.counting_type == "ONE_PER_CLICK":
            result["reason"] = (
                "PROCESSING_ERROR_REASON_ONE_PER_CLICK_CONVERSION_ACTION_NOT_PERMITTED_WITH_BRAID"
            )
            return result
        click = world.clicks.get(value)
        if click is None or click.kind != kind:
            result["reason"] = f"PROCESSING_ERROR_REASON_INVALID_{kind.upper()}"
            return result
        result["click"] = click.gclid
        if click.customer_id != customer.id:
            result["reason"] = "PROCESSING_ERROR_OPERATING_ACCOUNT_MISMATCH_FOR_AD_IDENTIFIER"
            return result
        if moment < click.clicked_at:
            result["reason"] = "PROCESSING_ERROR_REASON_CONVERSION_PRECEDES_CLICK"
            return result
        if moment - click.clicked_at > timedelta(days=action.click_through_lookback_window_days):
            result["reason"] = "PROCESSING_ERROR_REASON_EVENT_TOO_OLD"
            return result
        if now - click.clicked_at < timedelta(minutes=world.click_min_age_minutes):
            result["reason"] = "PROCESSING_ERROR_REASON_TOO_RECENT_CLICK"
            return result
        result["leaf"] = _leaf(world, click)
        result["day"] = local_date(click.clicked_at, customer)
        dedup_key = (action.id, "click", click.gclid, iso(moment))
    else:
        if not customer.accepted_customer_data_terms:
            result["reason"] = (
                "PROCESSING_ERROR_REASON_DESTINATION_ACCOUNT_ENHANCED_CONVERSIONS_TERMS_NOT_SIGNED"
            )
            return result
        known = known_identity_hashes()
        encoding = body.get("encoding", "HEX")
        matched = False
        for identifier in (event.get("user_data") or {}).get("user_identifiers", []):
            for name in ("email_address", "phone_number"):
                if name in identifier:
                    digest = _digest(identifier[name], encoding)
                    matched |= isinstance(digest, bytes) and digest.hex() in known
        if not matched:
            result["reason"] = "PROCESSING_ERROR_REASON_CLICK_NOT_FOUND"
            return result
        dedup_key = (action.id, "identity", iso(moment))
    transaction = event.get("transaction_id")
    key: tuple[str, ...] = (action.id, "transaction", transaction) if transaction else dedup_key
    prior = world.transactions.get(key)
    if prior is not None:
        same_value = (prior.get("conversion_value"), prior.get("currency")) == (
            event.get("conversion_value"), event.get("currency"))  # fmt: skip
        if not transaction or same_value:
            result["reason"] = ("PROCESSING_ERROR_REASON_DUPLICATE_TRANSACTION_ID" if transaction
                                else "PROCESSING_ERROR_REASON_DUPLICATE_GCLID")  # fmt: skip
            return result
        result["adjustment"] = True  # same transaction, new value: a restatement
    result["status"] = "SUCCESS"
    result["key"] = key
    return result


def _value_cents(event: dict[str, Any], action: ConversionAction) -> int:
    value = event.get("conversion_value")
    if value is None:
        value = action.default_value
    return round(float(value) * 100)


def process_due(world: World) -> None:
    """Apply the metrics of requests whose processing delay has passed (once)."""
    now = world.now()
    with world.lock:
        for record in world.requests.values():
            if record["validate_only"] or record["applied"] or record["due_at"] > now:
                continue
            record["applied"] = True
            for item in record["items"]:
                if item["status"] != "SUCCESS" or item["leaf"] is None:
                    continue
                action = world.conversion_actions[item["conversion_action_id"]]
                if not action.include_in_conversions_metric:
                    continue
                key = (item["leaf"], item["day"])
                current = world.uploaded_stats.get(key, Stats())
                delta = Stats(conversions_hundredths=0 if item["adjustment"] else 100,
                              conversions_value_cents=item["value_delta_cents"])  # fmt: skip
                world.uploaded_stats[key] = current + delta
            for item in record["items"]:
                item["pending"] = False


# -- endpoints -----------------------------------------------------------------------------------


def _reply(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), mimetype="application/json")


def _rate_limit(world: World) -> None:
    now = world.now()
    with world.lock:
        world.ingest_times = [t for t in world.ingest_times if now - t < timedelta(minutes=1)]
        if len(world.ingest_times) >= world.config.ingest_requests_per_minute:
            raise status_error("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", [
                error_info("RATE_LIMIT_EXCEEDED", "googleapis.com", {
                    "service": DOMAIN, "quota_limit": "IngestionMutateRequestsPerMinutePerProject",
                    "quota_limit_value": str(world.config.ingest_requests_per_minute)}),
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "60s"}])  # fmt: skip
        world.ingest_times.append(now)


@bp.post("/events:ingest")
def ingest_events() -> Any:
    world = get_world()
    ctx = authenticate(world, "IngestEvents", "dm")
    _rate_limit(world)
    try:
        raw = json.loads(request.get_data(as_text=True) or "{}")
        body = parse_message(raw, "IngestEventsRequest")
    except ValueError:
        raise status_error("INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.") from None  # fmt: skip
    except JsonError as err:
        raise status_error("INVALID_ARGUMENT", err.description, [
            {"@type": BAD_REQUEST, "fieldViolations": [{"field": err.field, "description": err.description}]}]) from err  # fmt: skip
    now = world.now()
    validate_structure(body, now)
    with world.lock:
        actions = resolve_destinations(ctx, body)
        request_id = str(uuid.uuid4())
        record = {"request_id": request_id, "user_id": ctx.user.id, "received_at": now,
                  "due_at": now + timedelta(seconds=world.processing_delay_seconds),
                  "validate_only": bool(body.get("validate_only")), "applied": False,
                  "destinations": raw.get("destinations", []), "items": [],
                  "parsed_destinations": body["destinations"],
                  "event_count": len(body["events"])}  # fmt: skip
        world.requests[request_id] = record
        if record["validate_only"]:
            return _reply({"requestId": request_id})
        for d, (dest, action) in enumerate(zip(body["destinations"], actions, strict=True)):
            customer = world.customers[action.customer_id]
            for i, event in enumerate(body["events"]):
                refs = event.get("destination_references") or []
                if refs and dest.get("reference") not in refs:
                    continue
                outcome = _outcome(world, body, event, action, customer)
                value_cents = _value_cents(event, action)
                delta = value_cents
                if outcome["status"] == "SUCCESS":
                    prior = world.transactions.get(outcome["key"])
                    if outcome["adjustment"] and prior is not None:
                        delta = value_cents - prior["value_cents"]
                    world.transactions[outcome["key"]] = {
                        "conversion_value": event.get("conversion_value"),
                        "currency": event.get("currency"), "value_cents": value_cents}  # fmt: skip
                item = {
                    "request_id": request_id, "event_index": i, "destination_index": d,
                    "customer_id": action.customer_id, "conversion_action_id": action.id,
                    "transaction_id": event.get("transaction_id"),
                    "event_timestamp": iso(event["event_timestamp"]),
                    "ad_identifiers": raw["events"][i].get("adIdentifiers") or raw["events"][i].get("ad_identifiers"),
                    "conversion_value": event.get("conversion_value"),
                    "currency": event.get("currency"), "event_source": event.get("event_source"),
                    "consent": {**(body.get("consent") or {}), **(event.get("consent") or {})},
                    "user_identifiers": len((event.get("user_data") or {}).get("user_identifiers", [])),
                    "status": outcome["status"], "reason": outcome["reason"],
                    "adjustment": outcome["adjustment"], "click": outcome["click"],
                    "leaf": outcome["leaf"], "day": outcome["day"], "value_delta_cents": delta,
                    "pending": True, "received_at": iso(now),
                }  # fmt: skip
                record["items"].append(item)
                world.events.append(item)
    process_due(world)
    return _reply({"requestId": request_id})


def destination_status(
    record: dict[str, Any], index: int, now: datetime, numbers: bool
) -> dict[str, Any]:
    items = [i for i in record["items"] if i["destination_index"] == index]
    status_enum = enum_values("RequestStatusPerDestination.RequestStatus")
    reasons = enum_values("ProcessingErrorReason")

    def enum(name: str, table: dict[str, int]) -> Any:
        return table[name] if numbers else name

    destination = to_json(record["parsed_destinations"][index], "Destination", numbers)
    out: dict[str, Any] = {"destination": destination,
                           "eventsIngestionStatus": {"recordCount": str(len(items))}}  # fmt: skip
    if now < record["due_at"]:
        out["requestStatus"] = enum("PROCESSING", status_enum)
        return out
    failed: dict[str, int] = {}
    for item in items:
        if item["status"] != "SUCCESS":
            failed[item["reason"]] = failed.get(item["reason"], 0) + 1
    if not failed:
        state = "SUCCESS"
    elif sum(failed.values()) == len(items):
        state = "FAILED"
    else:
        state = "PARTIAL_SUCCESS"
    out["requestStatus"] = enum(state, status_enum)
    if failed:
        out["errorInfo"] = {"errorCounts": [{"recordCount": str(count), "reason": enum(reason, reasons)}
                                            for reason, count in sorted(failed.items())]}  # fmt: skip
    return out


@bp.get("/requestStatus:retrieve")
def retrieve_request_status() -> Any:
    world = get_world()
    authenticate(world, "RetrieveRequestStatus", "dm")
    request_id = request.args.get("requestId") or request.args.get("request_id") or ""
    if not request_id:
        raise invalid([{"field": "request_id", "description": DESCRIPTIONS["REQUIRED_FIELD_MISSING"],
                        "reason": "REQUIRED_FIELD_MISSING"}])  # fmt: skip
    process_due(world)
    now = world.now()
    with world.lock:
        record = world.requests.get(request_id)
        if record is None or record["validate_only"]:
            raise invalid([{"field": "request_id", "reason": "INVALID_REQUEST_ID",
                            "description": "The request ID is not valid."}])  # fmt: skip
        if now - record["received_at"] > timedelta(days=STATUS_RETENTION_DAYS):
            raise invalid([{"field": "request_id", "reason": "REQUEST_TOO_OLD",
                            "description": "The request is too old to retrieve its status."}])  # fmt: skip
        numbers = int_enums()
        statuses = [destination_status(record, i, now, numbers)
                    for i in range(len(record["destinations"]))]  # fmt: skip
    return _reply({"requestStatusPerDestination": statuses})
