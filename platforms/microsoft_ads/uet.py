"""The UET Conversions API (CAPI): Microsoft's server-side UET events, the plugin's real-time path
(capability ``realtime_events``). Sources and open questions: README, "UET Conversions API".

``POST https://capi.uet.microsoft.com/v1/{tagId}/events`` with ``Authorization: Bearer <token>``
(the token is copied from the UET tag's "Conversions API" section in Microsoft Advertising; it is
tied to one tag and is neither the OAuth token nor the developer token), a JSON body of at most
1,000 events. Each SourceLoop conversion is one ``custom`` event whose ``eventId`` is the id the
pixel's UET tag used for it (``event_id``), so Microsoft counts the two once. We send
``continueOnValidationError: true``: valid events are kept when others fail, and the answer lists
per-event errors by index (only the first 10 problems are listed, so the other events are
checked against ``eventsReceived``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests

from platforms.base import PushOutcome, RealtimeEvent, RealtimeSpec, SettingField
from platforms.errors import RateLimited, TransientError

PRODUCTION_URL = "https://capi.uet.microsoft.com"
MAX_EVENTS = 1000
WINDOW = timedelta(days=7)  # eventTime "must be within the last 7 days"
DATA_PROVIDER = "sourceloop"
TIMEOUT = (10, 60)

# Codes the host may see on a row, beside Microsoft's own (InvalidEventTime, InvalidEnumValue...).
UNAUTHORIZED = "Unauthorized"
UNCONFIRMED = "Unconfirmed"  # the answer did not say whether this event was kept: send again
NO_USER_DATA = "NoUserData"
TOO_OLD = "InvalidEventTime"

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

EXPLANATIONS = {
    UNAUTHORIZED: (
        "Microsoft refused the Conversions API token for this UET tag. Copy the token again "
        "from the UET tag's Conversions API section in Microsoft Advertising and save it on the "
        "connection page; the refused events are then sent again."
    ),
    UNCONFIRMED: "Microsoft's answer did not confirm this event; it is sent again (same event id).",
    NO_USER_DATA: (
        "Nothing identifies the visitor to Microsoft: no msclkid, no hashed email or phone and "
        "no visitor id from the UET browser tag."
    ),
    TOO_OLD: "The Conversions API takes events of the last 7 days only.",
    "InvalidEnumValue": "Microsoft refused the event type.",
    "Empty": "A field Microsoft requires was empty.",
    "InvalidSha256": "Microsoft dropped a hashed email or phone that was not a valid SHA-256.",
    "InvalidUrl": "Microsoft dropped a page address that was not a valid URL.",
}

BROWSER_TAG = r"""function (config, api) {
  var w = window, d = document;
  if (!/^[0-9]{1,20}$/.test(String(config.ti || ""))) { return null; }
  w.uetq = w.uetq || [];
  var state = api.consent();
  // UET consent mode: the pixel's consent, as far as the visitor has said it.
  if (state === "granted" || state === "denied") {
    w.uetq.push("consent", "default", { ad_storage: state });
  }
  (function (u) {
    var f = function () {
      var o = { ti: String(config.ti), enableAutoSpaTracking: true };
      o.q = w[u]; w[u] = new w.UET(o); w[u].push("pageLoad");
    };
    var n = d.createElement("script"), i = d.getElementsByTagName("script")[0];
    n.src = "https://bat.bing.com/bat.js"; n.async = 1;
    n.onload = n.onreadystatechange = function () {
      var s = this.readyState;
      if (!s || s === "loaded" || s === "complete") { f(); n.onload = n.onreadystatechange = null; }
    };
    (i && i.parentNode ? i.parentNode : d.head).insertBefore(n, i || null);
  })("uetq");
  // Microsoft's ID sync: the visitor id the server sends as anonymousId.
  if (/^[0-9]{1,20}$/.test(String(config.cid || ""))) {
    (new Image()).src = "https://c.bing.com/c.gif?Red3=BACID_" + config.cid +
      "&vid=" + encodeURIComponent(api.visitorId());
  }
  return {
    event: function (name, id, props) {
      var p = { event_id: id };
      if (props.value !== undefined) { p.revenue_value = Number(props.value); }
      if (props.currency) { p.currency = String(props.currency).toUpperCase(); }
      w.uetq.push("event", name, p);
    },
    consent: function (next) { w.uetq.push("consent", "update", { ad_storage: next }); }
  };
}"""

SPEC = RealtimeSpec(
    title="UET Conversions API (real time)",
    help=(
        "Sends the events you choose below to Microsoft as server-side UET events within "
        "minutes, beside the offline upload. The UET Conversions API is a Microsoft pilot that "
        "needs enabling on your Microsoft Advertising account: ask your Microsoft account "
        "manager or support. Then, in Microsoft Advertising, open Tools → UET tag, edit the tag "
        "(pencil icon), choose Save and next, select Use Conversions API under Set up tagging, "
        "and Copy Token. Events older than 7 days are not sent. A UET goal counts an event "
        "whose Event action is the SourceLoop event name (for example purchase)."
    ),
    fields=(
        SettingField(
            "tag_id",
            "UET tag ID",
            help="The number Microsoft Advertising shows for the UET tag (Tools → UET tag).",
            pattern=r"[0-9]{1,20}",
            public=True,
            placeholder="12345678",
        ),
        SettingField(
            "token",
            "Conversions API token",
            help=(
                "Copied from the UET tag's Conversions API section. Stored encrypted and never "
                "shown again; leave empty to keep the saved one."
            ),
            pattern=r"[A-Za-z0-9._~+/=-]{8,2048}",
            secret=True,
        ),
    ),
    window=WINDOW,
    max_batch=MAX_EVENTS,
    browser_tag=BROWSER_TAG,
    browser_help=(
        "The SourceLoop pixel loads this UET tag on your site and reports the chosen events with "
        "the same event ids, so Microsoft counts each conversion once. Leave it off if the site "
        "has its own UET tag (then give it event_id = the SourceLoop event id yourself)."
    ),
    retryable_codes=frozenset({UNCONFIRMED}),
    auth_codes=frozenset({UNAUTHORIZED}),
)


def explain(code: str | None, message: str | None = None) -> str:
    if code and code in EXPLANATIONS:
        return EXPLANATIONS[code]
    if message:
        return f"Microsoft refused this event: {message}"
    return "Microsoft refused this event without saying why."


def msclkid_for_capi(raw: str | None) -> str | None:
    """CAPI wants the click id as a UUID; landing URLs carry 32 hex digits and UET's cookie adds
    a ``-1``/``-0``/``N`` suffix. Anything else is left out rather than refused."""
    if not raw:
        return None
    text = raw.strip().lower()
    if _UUID.match(text):
        return text
    text = re.sub(r"(-[01]|n)$", "", text)
    if _HEX32.match(text):
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return None


def event_json(event: RealtimeEvent) -> dict[str, Any]:
    """One SourceLoop conversion as a CAPI ``custom`` event."""
    user: dict[str, Any] = {}
    msclkid = msclkid_for_capi(event.click_id)
    if msclkid:
        user["msclkid"] = msclkid
    if event.hashed_email and _HEX64.match(event.hashed_email):
        user["em"] = event.hashed_email
    if event.hashed_phone and _HEX64.match(event.hashed_phone):
        user["ph"] = event.hashed_phone
    if event.visitor_id:
        user["anonymousId"] = event.visitor_id
    body: dict[str, Any] = {
        "eventType": "custom",
        "eventId": event.event_id,
        "eventName": event.event_name,
        "eventTime": int(event.occurred_at.timestamp()),
        "userData": user,
    }
    # "G"/"D"; an unknown choice is left out and Microsoft applies its own default (README).
    if event.ad_storage_consent == "granted":
        body["adStorageConsent"] = "G"
    elif event.ad_storage_consent == "denied":
        body["adStorageConsent"] = "D"
    if event.page_url:
        body["eventSourceUrl"] = event.page_url
    custom: dict[str, Any] = {}
    if event.value is not None:
        custom["value"] = float(event.value)
        if event.currency:
            custom["currency"] = event.currency.upper()
    if event.transaction_id:
        custom["transactionId"] = event.transaction_id
    if custom:
        body["customData"] = custom
    return body


def local_problem(event: RealtimeEvent, now: datetime) -> str | None:
    """What Microsoft would refuse anyway, found before the call."""
    if event.occurred_at < now - WINDOW:
        return TOO_OLD
    if not event_json(event)["userData"]:
        return NO_USER_DATA
    return None


def send(
    session: requests.Session,
    base_url: str,
    settings: Mapping[str, str],
    events: Sequence[RealtimeEvent],
    now: datetime,
) -> list[PushOutcome]:
    """Send ``events`` (≤ 1,000) to the tag in ``settings``; one outcome per event."""
    outcomes: dict[int, PushOutcome] = {}
    to_send: list[RealtimeEvent] = []
    for event in events:
        problem = local_problem(event, now)
        if problem:
            outcomes[event.row_id] = PushOutcome(event.row_id, False, problem, explain(problem))
        else:
            to_send.append(event)
    if to_send:
        for outcome in _post(session, base_url, settings, to_send):
            outcomes[outcome.row_id] = outcome
    return [outcomes[event.row_id] for event in events]


def _post(
    session: requests.Session,
    base_url: str,
    settings: Mapping[str, str],
    events: Sequence[RealtimeEvent],
) -> list[PushOutcome]:
    tag_id = str(settings.get("tag_id") or "")
    body = {
        "data": [event_json(e) for e in events],
        "continueOnValidationError": True,
        "dataProvider": DATA_PROVIDER,
    }
    try:
        response = session.post(
            f"{base_url}/v1/{tag_id}/events",
            json=body,
            headers={
                "Authorization": f"Bearer {settings.get('token') or ''}",
                "Content-Type": "application/json",
            },
            timeout=TIMEOUT,
        )
    except requests.RequestException as exc:
        raise TransientError(f"UET Conversions API unreachable: {type(exc).__name__}") from exc
    if response.status_code == 429:
        raise RateLimited(
            "UET Conversions API: too many requests", retry_after=_retry_after(response)
        )
    if response.status_code >= 500:
        raise TransientError(f"UET Conversions API answered {response.status_code}")
    answer = _json(response)
    if response.status_code == 401:
        return [_refused(e, UNAUTHORIZED, None) for e in events]
    if response.status_code not in (200, 400):
        code = f"HTTP{response.status_code}"
        return [_refused(e, code, f"HTTP {response.status_code}") for e in events]
    return read_answer(events, response.status_code, answer)


def read_answer(
    events: Sequence[RealtimeEvent], status: int, answer: Mapping[str, Any]
) -> list[PushOutcome]:
    """Per-event outcomes from a 200 or 400 answer (with ``continueOnValidationError``)."""
    error = answer.get("error") if isinstance(answer.get("error"), Mapping) else {}
    details = [d for d in (error or {}).get("details") or [] if isinstance(d, Mapping)]
    errors: dict[int, Mapping[str, Any]] = {}
    warnings: dict[int, Mapping[str, Any]] = {}
    request_level: Mapping[str, Any] | None = None
    for detail in details:
        index = detail.get("index")
        if not isinstance(index, int) or not 0 <= index < len(events):
            if not detail.get("isWarning"):
                request_level = request_level or detail
            continue
        (warnings if detail.get("isWarning") else errors).setdefault(index, detail)
    outcomes: list[PushOutcome] = []
    if status == 400:
        # Nothing was kept: events without their own detail share the request's problem.
        fallback = request_level or {
            "errorCode": str((error or {}).get("code") or "ValidationError"),
            "errorMessage": str((error or {}).get("message") or ""),
        }
        for index, event in enumerate(events):
            detail = errors.get(index) or fallback
            outcomes.append(_refused(event, _code(detail), detail.get("errorMessage")))
        return outcomes
    received = answer.get("eventsReceived")
    unaccounted = len(events) - len(errors)
    confirmed = not isinstance(received, int) or received >= unaccounted
    for index, event in enumerate(events):
        if index in errors:
            detail = errors[index]
            outcomes.append(_refused(event, _code(detail), detail.get("errorMessage")))
        elif not confirmed:
            outcomes.append(PushOutcome(event.row_id, False, UNCONFIRMED, explain(UNCONFIRMED)))
        elif index in warnings:
            detail = warnings[index]
            code = _code(detail)
            message = (
                f"{detail.get('propertyName', '')}: {explain(code, detail.get('errorMessage'))}"
            )
            outcomes.append(PushOutcome(event.row_id, True, code, message.strip(": ")))
        else:
            outcomes.append(PushOutcome(event.row_id, True))
    return outcomes


def _code(detail: Mapping[str, Any]) -> str:
    return str(detail.get("errorCode") or "ValidationError")[:32]


def _refused(event: RealtimeEvent, code: str, message: Any) -> PushOutcome:
    return PushOutcome(event.row_id, False, code, explain(code, str(message) if message else None))


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _retry_after(response: requests.Response) -> float:
    try:
        return max(1.0, float(response.headers.get("Retry-After", "60")))
    except ValueError:
        return 60.0
