"""What the Troubleshoot page and the conversion API show about pushing besides the state model
(``webapp.push.states``, which owns every state, count and reason): recent runs, the match rate,
and the conversion API's delivery list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.intake.click_matching import platform_params, resolve_clicks
from webapp.models import Connection, Conversion, PushRun
from webapp.models.types import utcnow
from webapp.push import config as push_config
from webapp.push import states
from webapp.push.eligibility import (
    supplied_click_ids,
)


def recent_runs(connection_id: int, limit: int = 15) -> list[PushRun]:
    return list(
        db.session.scalars(
            select(PushRun)
            .where(PushRun.connection_id == connection_id)
            .order_by(PushRun.started_at.desc(), PushRun.id.desc())
            .limit(limit)
        )
    )


MATCH_RATE_SAMPLE = 1000


def match_rate(
    connection: Connection, days: int = 30, sample: int = MATCH_RATE_SAMPLE
) -> tuple[int, int]:
    """(conversions carrying a click id, conversions) over the last ``days``, at most the
    ``sample`` most recent: the share a platform can attribute at all. Troubleshoot and the
    match-rate alert both call this, so they show one figure; the sample keeps Troubleshoot fast
    at any volume (each conversion's click is resolved in Python)."""
    platform = push_config.platform_for(connection)
    rows = db.session.execute(
        select(Conversion.id, Conversion.visitor_id, Conversion.occurred_at)
        .where(
            Conversion.workspace_id == connection.workspace_id,
            Conversion.occurred_at >= utcnow() - timedelta(days=days),
        )
        .order_by(Conversion.id.desc())
        .limit(sample)
    ).all()
    if not rows:
        return 0, 0
    supplied = supplied_click_ids(r[0] for r in rows)
    found = resolve_clicks(
        [(cid, vid, occurred, supplied.get(cid, {})) for cid, vid, occurred in rows],
        click_params=platform_params(platform),
    )
    return sum(1 for f in found.values() if f.click is not None), len(rows)


def match_rate_figure(matched: int, total: int) -> str:
    """How a match rate is written wherever it is shown (Troubleshoot, alerts)."""
    return f"{100 * matched / total:.1f}% ({matched} of {total})" if total else "—"


def delivery_status(conversion: Conversion) -> list[dict[str, Any]]:
    """Rows for the conversion API's ``delivery`` list: one per connection (and goal) where the
    conversion belongs, from the state model (``states.rows_for_conversion``)."""
    result = []
    for row in states.rows_for_conversion(conversion):
        data = row.as_json()
        data.update(
            status=row.state,
            error_code=row.error_code,
            message=row.text if row.state not in (states.SENT, states.ADJUSTED) else None,
        )
        result.append(data)
    return result
