"""The UET Conversions API: ``POST /v1/<tagId>/events`` as Microsoft documents it (fact sheet
``microsoft-uet-conversions-api.md`` §9; sources in the emulator README).

Auth first (401 with Microsoft's exact body), then the request (a ``data`` array of 1 to 1,000
events), then every event: errors make the event invalid, warnings drop the field and keep the
event. Without ``continueOnValidationError: true`` one error refuses the whole request (400,
nothing stored); with it, valid events are stored and the answer is 200 with the details, or 400
when none was valid. Only the first 10 details are listed, as at Microsoft. Accepted events are
kept by ``(tagId, eventId, eventName)``: a repeat is counted once, as Microsoft de-duplicates.
What Microsoft leaves undocumented (the shape of request-level errors, 429) is marked
emulator-defined.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, jsonify, request

from .guard import get_world

bp = Blueprint("uet_capi", __name__)

MAX_EVENTS = 1000
SHOWN_DETAILS = 10
IDENTIFIERS = ("anonymousId", "externalId", "em", "ph", "msclkid", "idfa", "gaid")
PAGE_TYPES = {"cart", "category", "home", "other", "product", "purchase", "searchresults"}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
UNAUTHORIZED = {
    "error": {
        "code": "Unauthorized",
        "message": "You are not authorized to access this resource.",
    }
}
VALIDATION_MESSAGE = (
    "One or multiple parameters did not pass validation checks, see details. Note that only "
    "the first 10 errors and warnings are shown."
)


def _detail(
    index: int, path: str, message: str, code: str, warning: bool, attempted: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"index": index, "propertyName": f"data[{index}].{path}"}
    if attempted is not None:
        out["attemptedValue"] = attempted
    out |= {"errorMessage": message, "errorCode": code, "isWarning": warning}
    return out


def _is_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_event(index: int, event: Any, now_s: int) -> tuple[list[dict], list[dict], dict]:
    """(errors, warnings, the event as kept: warned fields removed)."""
    errors: list[dict] = []
    warnings: list[dict] = []
    if not isinstance(event, dict):
        errors.append(_detail(index, "", "Each event must be an object.", "InvalidType", False))
        return errors, warnings, {}
    kept = dict(event)
    kind = event.get("eventType")
    if kind not in ("pageLoad", "custom"):
        errors.append(_detail(index, "eventType",
                              "'eventType' must be one of the following: pageLoad, custom.",
                              "InvalidEnumValue", False))  # fmt: skip
    when = event.get("eventTime")
    if when is None:
        errors.append(_detail(index, "eventTime", "'eventTime' must not be empty.", "Empty", False))
    elif (
        not isinstance(when, int)
        or isinstance(when, bool)
        or when < now_s - 7 * 86400
        or when > now_s + 300  # emulator-defined tolerance for the future
    ):
        errors.append(_detail(index, "eventTime",
                              "'eventTime' must be a valid UNIX UTC timestamp in seconds within last 7 days.",
                              "InvalidEventTime", False, attempted=when))  # fmt: skip
    if kind == "pageLoad" and not _is_url(event.get("eventSourceUrl")):
        errors.append(_detail(index, "eventSourceUrl", "'eventSourceUrl' must be a valid URL.",
                              "InvalidUrl", False, attempted=event.get("eventSourceUrl")))  # fmt: skip
    if "referrerUrl" in event and not _is_url(event["referrerUrl"]):
        warnings.append(_detail(index, "referrerUrl", "'referrerUrl' must be a valid URL.",
                                "InvalidUrl", True))  # fmt: skip
        kept.pop("referrerUrl")
    consent = event.get("adStorageConsent")
    if consent is not None and consent not in ("G", "D"):
        errors.append(_detail(index, "adStorageConsent",
                              "'adStorageConsent' must be one of the following: G, D.",
                              "InvalidEnumValue", False, attempted=consent))  # fmt: skip
    user = event.get("userData")
    if not isinstance(user, dict):
        errors.append(_detail(index, "userData", "'userData' must not be empty.", "Empty", False))
    else:
        user = dict(user)
        for field in ("em", "ph"):
            if field in user and not (isinstance(user[field], str) and _SHA256.match(user[field])):
                warnings.append(_detail(index, f"userData.{field}",
                                        f"'{field}' must be a valid SHA256 string.",
                                        "InvalidSha256", True))  # fmt: skip
                user.pop(field)
        if "msclkid" in user and not (
            isinstance(user["msclkid"], str) and _UUID.match(user["msclkid"])
        ):
            # Error or warning is not documented: emulator-defined as an error.
            errors.append(_detail(index, "userData.msclkid", "'msclkid' must be a valid UUID.",
                                  "InvalidGuid", False, attempted=user["msclkid"]))  # fmt: skip
        if not any(isinstance(user.get(k), str) and user.get(k) for k in IDENTIFIERS):
            errors.append(_detail(index, "userData",
                                  "'userData' must contain at least one of: " + ", ".join(IDENTIFIERS) + ".",
                                  "MissingUserIdentifier", False))  # fmt: skip
        kept["userData"] = user
    custom = event.get("customData")
    if isinstance(custom, dict):
        custom = dict(custom)
        if "currency" in custom and not (
            isinstance(custom["currency"], str) and _CURRENCY.match(custom["currency"])
        ):
            warnings.append(_detail(index, "customData.currency", "'currency' must be a valid ISO 4217 code.",
                                    "InvalidCurrency", True))  # fmt: skip
            custom.pop("currency")
        if "pageType" in custom and custom["pageType"] not in PAGE_TYPES:
            warnings.append(_detail(index, "customData.pageType", "'pageType' is not a valid value.",
                                    "InvalidEnumValue", True))  # fmt: skip
            custom.pop("pageType")
        value = custom.get("value")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            warnings.append(_detail(index, "customData.value", "'value' must be a number.",
                                    "InvalidNumber", True))  # fmt: skip
            custom.pop("value")
        kept["customData"] = custom
    return errors, warnings, kept


@bp.post("/v1/<tag_id>/events")
def events(tag_id: str) -> Any:
    g.operation = "UetCapiEvents"
    world = get_world()
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else ""
    with world.lock:
        fault = world.take_fault("UetCapiEvents")
        if fault is not None:
            if fault.kind == "throttle":  # emulator-defined: Microsoft documents no 429
                return (
                    jsonify({"error": {"code": "TooManyRequests", "message": "Slow down."}}),
                    429,
                    {"Retry-After": "2"},
                )
            if fault.kind in ("internal", "bare"):
                return ("", fault.status or 500)
        if not token or world.uet_tags.get(tag_id) != token:
            return jsonify(UNAUTHORIZED), 401
    raw_body = request.get_json(silent=True)
    body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
    data = body.get("data")
    if not isinstance(data, list) or not 1 <= len(data) <= MAX_EVENTS:
        # Emulator-defined: Microsoft does not print the shape of a request-level error.
        problem = {
            "propertyName": "data",
            "errorMessage": f"'data' must hold 1 to {MAX_EVENTS} events.",
            "errorCode": "InvalidCollectionSize" if isinstance(data, list) else "Empty",
            "isWarning": False,
        }
        return jsonify({"error": {"code": "ValidationError", "message": VALIDATION_MESSAGE,
                                  "details": [problem]}}), 400  # fmt: skip
    keep_going = body.get("continueOnValidationError") is True
    now_s = int(world.now().timestamp())
    details: list[dict] = []
    valid: list[dict] = []
    for index, raw in enumerate(data):
        errors, warnings, kept = check_event(index, raw, now_s)
        details += errors + warnings
        if not errors:
            valid.append(kept)
    invalid = len(data) - len(valid)
    error = {
        "code": "ValidationError",
        "message": VALIDATION_MESSAGE,
        "details": details[:SHOWN_DETAILS],
    }
    if invalid and (not keep_going or not valid):
        return jsonify({"error": error}), 400
    with world.lock:
        world.uet_requests.append({"tag_id": tag_id, "events": len(data), "stored": len(valid),
                                   "data_provider": body.get("dataProvider"),
                                   "continue_on_validation_error": keep_going})  # fmt: skip
        for event in valid:
            key = (tag_id, str(event.get("eventId") or ""), str(event.get("eventName") or ""))
            consent = event.get("adStorageConsent") or "G"
            record = {"tag_id": tag_id, "event": event, "consent": consent,
                      "excluded_from_attribution": consent == "D",
                      "received_at": world.now().isoformat(), "repeats": 0}  # fmt: skip
            if key[1] and key in world.uet_events:
                world.uet_events[key]["repeats"] += 1
            else:
                world.uet_events[
                    key if key[1] else (tag_id, f"#{len(world.uet_events)}", key[2])
                ] = record
    answer: dict[str, Any] = {"eventsReceived": len(valid)}
    if details:
        answer["error"] = error
    return jsonify(answer), 200


def read_back(tag_id: str | None) -> list[dict[str, Any]]:
    world = get_world()
    with world.lock:
        return [
            {"event_id": key[1], "event_name": key[2], **record}
            for key, record in world.uet_events.items()
            if tag_id is None or key[0] == tag_id
        ]
