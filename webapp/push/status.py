"""What the Troubleshoot page and the conversion API show about pushing besides the state model
(``webapp.push.states``, which owns every state, count and reason): recent runs and the conversion
API's delivery list. (The match rate and click-id coverage are the state model's:
``states.match_rate``, ``states.click_id_coverage``.)"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Conversion, PushRun
from webapp.push import states


def recent_runs(connection_id: int, limit: int = 15) -> list[PushRun]:
    return list(
        db.session.scalars(
            select(PushRun)
            .where(PushRun.connection_id == connection_id)
            .order_by(PushRun.started_at.desc(), PushRun.id.desc())
            .limit(limit)
        )
    )


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
