"""What SourceLoop tells a platform about its own attribution (capability
``external_attribution``): for a goal set up for external attribution
(``ConversionGoal.external_attribution``), each uploaded click carries ``attribution_model`` (a
model name that never changes) and ``attribution_credit``, the fraction of the conversion that
click earned under the workspace's chosen model, in (0, 1].

Computed from the journey on demand (one conversion, microseconds), with the same engine and
settings as the stored credits, so an upload never waits for the attribution job.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import select

from webapp.attribution import settings as multitouch_settings
from webapp.attribution.engine import CONVERSION_PLACES, split
from webapp.attribution.journey import Touch, in_window
from webapp.attribution.weights import BY_KEY
from webapp.extensions import db
from webapp.models import Conversion, Touchpoint


def external_credit(
    conversion_id: int, click_id: str | None, model_key: str | None = None
) -> tuple[str, Decimal] | None:
    """(stable model name, this click's share of the conversion) or None when the click earned
    nothing under the model (not in the journey, outside the window, or a zero share): platforms
    only accept 0 < credit ≤ 1, so such a click must not be uploaded with attribution fields.
    ``model_key`` defaults to the workspace's setting."""
    return external_credits([(conversion_id, click_id)], model_key).get(conversion_id)


def external_credits(
    items: Sequence[tuple[int, str | None]], model_key: str | None = None
) -> dict[int, tuple[str, Decimal]]:
    """``external_credit`` for a batch of (conversion id, click id) pairs, by conversion id
    (pairs that earned nothing are left out), in a bounded number of queries whatever the batch
    size: the conversions, each workspace's settings, and their visitors' touchpoints (per 500)."""
    wanted = {cid: click for cid, click in items if click}
    if not wanted:
        return {}
    conversions = []
    ids = sorted(wanted)
    for start in range(0, len(ids), 500):
        conversions += db.session.execute(
            select(
                Conversion.id, Conversion.workspace_id, Conversion.visitor_id,
                Conversion.occurred_at,
            ).where(Conversion.id.in_(ids[start : start + 500]), Conversion.visitor_id.is_not(None))
        ).all()  # fmt: skip
    settings = {ws: multitouch_settings.get(ws) for ws in {c.workspace_id for c in conversions}}
    touches: dict[int, list] = {}
    visitors = sorted({c.visitor_id for c in conversions})
    for start in range(0, len(visitors), 500):
        for row in db.session.execute(
            select(
                Touchpoint.visitor_id, Touchpoint.id, Touchpoint.occurred_at, Touchpoint.channel,
                Touchpoint.click_id,
            )
            .where(Touchpoint.visitor_id.in_(visitors[start : start + 500]))
            .order_by(Touchpoint.occurred_at, Touchpoint.id)
        ):  # fmt: skip
            touches.setdefault(row.visitor_id, []).append(row)
    found: dict[int, tuple[str, Decimal]] = {}
    for conversion in conversions:
        current = settings[conversion.workspace_id]
        model = BY_KEY.get(model_key or current.external_model)
        if model is None:
            raise ValueError(f"unknown attribution model {model_key!r}")
        rows = [
            t
            for t in touches.get(conversion.visitor_id, ())
            if t.occurred_at <= conversion.occurred_at
        ]
        share = _share(rows, conversion.occurred_at, current, model, wanted[conversion.id])
        if share > 0:
            found[conversion.id] = (model.external_name, Decimal(share).scaleb(-CONVERSION_PLACES))
    return found


def _share(rows, occurred_at, current, model, click_id: str) -> int:  # noqa: ANN001
    """The click's share (in units of 10**-CONVERSION_PLACES) of the journey ``rows``."""
    clicks = {row.id: (row.click_id or "").strip().lower() for row in rows}
    touches = in_window(
        [Touch(row.occurred_at, row.channel, row.id) for row in rows],
        occurred_at,
        current.engine.lookback,
    )
    wanted = click_id.strip().lower()
    return sum(
        part[3]
        for part in split(touches, 0, current.engine, (model,))
        if part[1] >= 0 and clicks[touches[part[1]].id] == wanted
    )


def upload_fields_for(
    items: Sequence[tuple[int, str | None, bool]],
) -> dict[int, dict[str, object]]:
    """The ``ConversionUpload`` keyword arguments for a batch of ledger rows, by conversion id:
    ``(conversion id, click id, goal externally attributed)``. The model name and credit for a
    goal set up for external attribution (goal-level opt-in), nothing for any other goal."""
    credits = external_credits([(cid, click) for cid, click, external in items if external])
    return {
        cid: {"attribution_model": model, "attribution_credit": credit}
        for cid, (model, credit) in credits.items()
    }


def upload_fields(
    conversion_id: int, click_id: str | None, externally_attributed: bool
) -> dict[str, object]:
    """``upload_fields_for`` for one ledger row."""
    return upload_fields_for([(conversion_id, click_id, externally_attributed)]).get(
        conversion_id, {}
    )
