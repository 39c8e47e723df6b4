"""What SourceLoop tells a platform about its own attribution (capability
``external_attribution``): for a goal set up for external attribution
(``ConversionGoal.external_attribution``), each uploaded click carries ``attribution_model`` (a
model name that never changes) and ``attribution_credit``, the fraction of the conversion that
click earned under the workspace's chosen model, in (0, 1].

Computed from the journey on demand (one conversion, microseconds), with the same engine and
settings as the stored credits, so an upload never waits for the attribution job.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Conversion, Touchpoint
from webapp.multitouch.engine import CONVERSION_PLACES, split
from webapp.multitouch.journey import Touch, in_window
from webapp.multitouch.models import BY_KEY
from webapp.services import multitouch_settings


def external_credit(
    conversion_id: int, click_id: str | None, model_key: str | None = None
) -> tuple[str, Decimal] | None:
    """(stable model name, this click's share of the conversion) or None when the click earned
    nothing under the model (not in the journey, outside the window, or a zero share): platforms
    only accept 0 < credit ≤ 1, so such a click must not be uploaded with attribution fields.
    ``model_key`` defaults to the workspace's setting."""
    if not click_id:
        return None
    conversion = db.session.get(Conversion, conversion_id)
    if conversion is None or conversion.visitor_id is None:
        return None
    current = multitouch_settings.get(conversion.workspace_id)
    model = BY_KEY.get(model_key or current.external_model)
    if model is None:
        raise ValueError(f"unknown attribution model {model_key!r}")
    rows = db.session.execute(
        select(Touchpoint.id, Touchpoint.occurred_at, Touchpoint.channel, Touchpoint.click_id)
        .where(Touchpoint.visitor_id == conversion.visitor_id,
               Touchpoint.occurred_at <= conversion.occurred_at)
        .order_by(Touchpoint.occurred_at, Touchpoint.id)
    ).all()  # fmt: skip
    clicks = {row.id: (row.click_id or "").strip().lower() for row in rows}
    touches = in_window(
        [Touch(row.occurred_at, row.channel, row.id) for row in rows],
        conversion.occurred_at,
        current.engine.lookback,
    )
    wanted = click_id.strip().lower()
    share = sum(
        part[3]
        for part in split(touches, 0, current.engine, (model,))
        if part[1] >= 0 and clicks[touches[part[1]].id] == wanted
    )
    if share <= 0:
        return None
    return model.external_name, Decimal(share).scaleb(-CONVERSION_PLACES)


def upload_fields(
    conversion_id: int, click_id: str | None, externally_attributed: bool
) -> dict[str, object]:
    """The ``ConversionUpload`` keyword arguments for one ledger row: the model name and credit
    for a goal set up for external attribution (goal-level opt-in), nothing for any other goal."""
    if not externally_attributed:
        return {}
    credit = external_credit(conversion_id, click_id)
    if credit is None:
        return {}
    return {"attribution_model": credit[0], "attribution_credit": credit[1]}
