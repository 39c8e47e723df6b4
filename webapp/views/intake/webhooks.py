"""Inbound webhooks. Stripe: ``POST /webhooks/stripe/<pixel public key>``, one URL per workspace,
verified with that workspace's signing secret (Setup → Tracking)."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, jsonify, request

from webapp.intake import stripe_webhooks
from webapp.push import realtime_settings
from webapp.web_extensions import csrf

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)

MAX_BODY = 512 * 1024


@bp.post("/stripe/<key>")
def stripe(key: str):  # noqa: ANN201
    settings = stripe_webhooks.settings_by_key(key) if len(key) <= 40 else None
    if settings is None or not settings.stripe_signing_secret:
        abort(404, "No Stripe webhook is configured at this address.")
    if (request.content_length or 0) > MAX_BODY:
        abort(413, "Webhook payload too large.")
    # A chunked body has no Content-Length: read one byte past the limit, never the rest.
    payload = request.stream.read(MAX_BODY + 1)
    if len(payload) > MAX_BODY:
        abort(413, "Webhook payload too large.")
    try:
        stripe_webhooks.verify(
            payload, request.headers.get("Stripe-Signature", ""), settings.stripe_signing_secret
        )
        event = stripe_webhooks.parse(payload)
    except stripe_webhooks.SignatureError as exc:
        log.warning("stripe webhook refused for workspace %s: %s", settings.workspace_id, exc)
        abort(400, f"Invalid signature: {exc}.")
    except (ValueError, RecursionError):  # not JSON, lone surrogates, absurd nesting
        abort(400, "The payload is not a JSON event.")
    outcome = stripe_webhooks.receive(settings.workspace_id, event)
    # After the commit, and never failing the webhook: a Redis outage only delays the real-time
    # send to the next scheduled run. A replay (outcome "duplicate") nudges nothing.
    realtime_settings.after_save(settings.workspace_id, outcome.saved)
    log.info(
        "stripe %s for workspace %s: %s", event.get("type"), settings.workspace_id, outcome.text
    )
    return jsonify(received=True, outcome=outcome.text)
