"""Google Ads API v26 over REST: ``customers:listAccessibleCustomers``, ``googleAds:search`` and
``googleAds:searchStream``.

Access follows Google's rules: a customer is reachable directly (it is among the user's
accessible customers) or through a manager named in the ``login-customer-id`` header (the
customer is that manager or one of its clients at any depth); anything else is
``USER_PERMISSION_DENIED``. The ``developer-token`` header is optional and ignored (sunset on
2026-09-09).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from .entities import Customer
from .gaql import QueryError, parse
from .guard import CallContext, authenticate, get_world
from .reporting import execute, field_mask, validate
from .rpc import ads_error, ads_failure, status_error

bp = Blueprint("ads_api", __name__, url_prefix="/v26")
PAGE_SIZE = 10_000
INVALID_ARGUMENT = "Request contains an invalid argument."
NO_PERMISSION = "The caller does not have permission"
SEARCH_FIELDS = {"customerId", "query", "pageToken", "pageSize", "validateOnly", "searchSettings"}
STREAM_FIELDS = {"customerId", "query", "summaryRowSetting"}
SETTINGS_FIELDS = {"omitResults", "returnSummaryRow", "returnTotalResultsCount"}
SUMMARY_ROW_SETTINGS = ("UNSPECIFIED", "UNKNOWN", "NO_SUMMARY_ROW", "SUMMARY_ROW_WITH_RESULTS",
                        "SUMMARY_ROW_ONLY")  # fmt: skip


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _body(allowed: set[str], nested: dict[str, set[str]] | None = None) -> dict[str, Any]:
    """Parse the JSON body as Google's front end does: snake_case or lowerCamelCase names,
    unknown names refused."""
    raw = request.get_data(as_text=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise status_error("INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.") from None  # fmt: skip
    if not isinstance(body, dict):
        raise status_error("INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.")

    def normalise(obj: dict[str, Any], names: set[str], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            name = _camel(key)
            if name not in names:
                at = f" at '{where}'" if where else ""
                message = (
                    f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.'
                )
                raise status_error("INVALID_ARGUMENT", message, [{
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": where, "description": message}]}])  # fmt: skip
            if nested and name in nested and isinstance(value, dict):
                value = normalise(value, nested[name], _snake(name))
            out[name] = value
        return out

    parsed = normalise(body, allowed, "")
    _check_types(parsed, "")
    return parsed


FIELD_TYPES = {"customerId": ("TYPE_STRING", str), "query": ("TYPE_STRING", str),
               "pageToken": ("TYPE_STRING", str), "pageSize": ("TYPE_INT32", int),
               "validateOnly": ("TYPE_BOOL", bool), "omitResults": ("TYPE_BOOL", bool),
               "returnSummaryRow": ("TYPE_BOOL", bool), "returnTotalResultsCount": ("TYPE_BOOL", bool)}  # fmt: skip


def _check_types(body: dict[str, Any], prefix: str) -> None:
    """Proto3 JSON types of the request fields (int32 also as a numeric string)."""
    for name, value in list(body.items()):
        path = prefix + _snake(name)
        if value is None:
            del body[name]
            continue
        if name == "searchSettings":
            if not isinstance(value, dict):
                raise _bad_value(
                    path,
                    "type.googleapis.com/google.ads.googleads.v26.services.SearchSettings",
                    value,
                )
            _check_types(value, path + ".")
            continue
        if name == "summaryRowSetting":
            if not (isinstance(value, str) and value in SUMMARY_ROW_SETTINGS) and not (
                isinstance(value, int) and not isinstance(value, bool)):  # fmt: skip
                raise _bad_value(path, "type.googleapis.com/google.ads.googleads.v26.enums."
                                 "SummaryRowSettingEnum.SummaryRowSetting", value)  # fmt: skip
            continue
        type_name, python_type = FIELD_TYPES[name]
        if python_type is int and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            body[name] = int(value)
            continue
        if not isinstance(value, python_type) or (python_type is int and isinstance(value, bool)):
            raise _bad_value(path, type_name, value)


def _bad_value(path: str, type_name: str, value: Any) -> Any:
    shown = f'"{value}"' if isinstance(value, str) else json.dumps(value)
    message = f"Invalid value at '{path}' ({type_name}), {shown}"
    return status_error("INVALID_ARGUMENT", message, [{
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        "fieldViolations": [{"field": path, "description": message}]}])  # fmt: skip


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), name)


def _permission(code: str, message: str, trigger: str | None = None) -> Any:
    return ads_failure("PERMISSION_DENIED", NO_PERMISSION,
                       [ads_error("authorizationError", code, message, trigger)], g.request_id)  # fmt: skip


def _invalid(category: str, code: str, message: str, trigger: str | None = None,
             location: list[tuple[str, int | None]] | None = None) -> Any:  # fmt: skip
    return ads_failure("INVALID_ARGUMENT", INVALID_ARGUMENT,
                       [ads_error(category, code, message, trigger, location)], g.request_id)  # fmt: skip


def _not_ads_user(ctx: CallContext) -> None:
    if not ctx.user.customer_ids:
        raise ads_failure("UNAUTHENTICATED", "Request had invalid authentication credentials.", [
            ads_error("authenticationError", "NOT_ADS_USER",
                      "The Google account that generated the OAuth access token is not "
                      "associated with a Google Ads account. Create a new account, or add the "
                      "Google account to an existing Google Ads account.")], g.request_id)  # fmt: skip


def reachable_customer(ctx: CallContext, customer_id: str) -> Customer:
    """Google's access check for ``customers/{customer_id}`` with the call's headers."""
    world = ctx.world
    if not re.fullmatch(r"\d{10}", customer_id):
        raise _invalid(
            "requestError", "INVALID_CUSTOMER_ID", "Customer ID is invalid.", customer_id
        )
    _not_ads_user(ctx)
    login = request.headers.get("login-customer-id", "").strip()
    denied = ("User doesn't have permission to access customer. Note: If you're accessing a "
              "client customer, the manager's customer id must be set in the "
              "'login-customer-id' header. See "
              "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid")  # fmt: skip
    with world.lock:
        if login:
            if not re.fullmatch(r"\d{10}", login):
                raise _invalid("headerError", "INVALID_LOGIN_CUSTOMER_ID",
                               "The login customer ID could not be validated.", login)  # fmt: skip
            login_ok = login in world.customers and any(
                world.is_under(login, direct) for direct in ctx.user.customer_ids
            )
            if not login_ok or not world.is_under(customer_id, login):
                raise _permission("USER_PERMISSION_DENIED", denied, customer_id)
        elif customer_id not in ctx.user.customer_ids:
            raise _permission("USER_PERMISSION_DENIED", denied, customer_id)
        customer = world.customers.get(customer_id)
        if customer is None:  # pragma: no cover - is_under needs a known customer
            raise _permission("USER_PERMISSION_DENIED", denied, customer_id)
        if customer.status != "ENABLED":
            raise _permission("CUSTOMER_NOT_ENABLED",
                              "The customer account can't be accessed because it is not yet "
                              "enabled or has been deactivated.", customer_id)  # fmt: skip
        return customer


def _run(ctx: CallContext, customer: Customer, query_text: Any) -> tuple[list[dict[str, Any]], str]:
    if not isinstance(query_text, str) or not query_text.strip():
        raise _invalid("requestError", "REQUIRED_FIELD_MISSING", "Required field is missing.",
                       location=[("query", None)])  # fmt: skip
    try:
        query = parse(query_text)
        validate(query)
        with ctx.world.lock:
            return execute(ctx.world, customer, query), field_mask(query)
    except QueryError as err:
        raise _invalid("queryError", err.code, err.message, err.trigger) from None


def _consumption(rows: list[dict[str, Any]]) -> str:
    return str(max(1, len(rows)) * 10)


def _page_token(query: str, offset: int) -> str:
    digest = hashlib.sha256(query.encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")


def _offset(token: str, query: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset, digest = text.split(":")
        if digest != hashlib.sha256(query.encode()).hexdigest()[:16]:
            raise ValueError
        return int(offset)
    except (ValueError, UnicodeDecodeError):
        raise _invalid(
            "requestError",
            "INVALID_PAGE_TOKEN",
            "Next page token specified in user request is invalid.",
            token,
        ) from None


@bp.get("/customers:listAccessibleCustomers")
def list_accessible_customers() -> Any:
    ctx = authenticate(get_world(), "ListAccessibleCustomers", "ads")
    _not_ads_user(ctx)
    return jsonify({"resourceNames": [f"customers/{c}" for c in ctx.user.customer_ids]})


@bp.post("/customers/<customer_id>/googleAds:search")
def search(customer_id: str) -> Any:
    ctx = authenticate(get_world(), "Search", "ads")
    body = _body(SEARCH_FIELDS, {"searchSettings": SETTINGS_FIELDS})
    customer = reachable_customer(ctx, customer_id)
    if body.get("pageSize"):
        raise _invalid("requestError", "PAGE_SIZE_NOT_SUPPORTED",
                       "Setting the page size is not supported. Search Responses will have "
                       "fixed page size of 10000 rows.", location=[("page_size", None)])  # fmt: skip
    if body.get("validateOnly") and body.get("pageToken"):
        raise _invalid("requestError", "VALIDATE_ONLY_REQUEST_HAS_PAGE_TOKEN",
                       "page_token is set in the validate only request")  # fmt: skip
    rows, mask = _run(ctx, customer, body.get("query"))
    if body.get("validateOnly"):
        return jsonify({"fieldMask": mask})
    start = _offset(body["pageToken"], body["query"]) if body.get("pageToken") else 0
    page = rows[start : start + PAGE_SIZE]
    reply: dict[str, Any] = {}
    settings = body.get("searchSettings") or {}
    if page and not settings.get("omitResults"):
        reply["results"] = page
    if start + PAGE_SIZE < len(rows):
        reply["nextPageToken"] = _page_token(body["query"], start + PAGE_SIZE)
    if settings.get("returnTotalResultsCount"):
        reply["totalResultsCount"] = str(len(rows))
    reply["fieldMask"] = mask
    reply["queryResourceConsumption"] = _consumption(rows)
    return jsonify(reply)


@bp.post("/customers/<customer_id>/googleAds:searchStream")
def search_stream(customer_id: str) -> Any:
    g.stream = True
    ctx = authenticate(get_world(), "SearchStream", "ads")
    body = _body(STREAM_FIELDS)
    customer = reachable_customer(ctx, customer_id)
    rows, mask = _run(ctx, customer, body.get("query"))
    batches: list[dict[str, Any]] = []
    for start in range(0, max(len(rows), 1), PAGE_SIZE):
        batch: dict[str, Any] = {}
        chunk = rows[start : start + PAGE_SIZE]
        if chunk:
            batch["results"] = chunk
        batch["fieldMask"] = mask
        batch["requestId"] = g.request_id
        batches.append(batch)
    batches[-1]["queryResourceConsumption"] = _consumption(rows)
    return Response(json.dumps(batches), mimetype="application/json")
