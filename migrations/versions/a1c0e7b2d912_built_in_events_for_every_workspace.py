"""Built-in conversion events (and pixel settings) for every existing workspace

New workspaces get them when they are created (``tracking.provision``); workspaces made before
that got them only when someone first opened Tracking, so Configure said "No events yet".

Revision ID: a1c0e7b2d912
Revises: 7c1d2e3f4a5b
Create Date: 2026-12-01 10:40:00

"""

import secrets
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a1c0e7b2d912"
down_revision = "7c1d2e3f4a5b"
branch_labels = None
depends_on = None

# Frozen copy: a migration must not change when the model's constants do.
BUILT_INS = {
    "form_submitted": "Form submitted",
    "meeting_booked": "Meeting booked",
    "payment_received": "Payment received",
}


def upgrade():
    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    if bind.dialect.name == "sqlite":  # stored naive in UTC there, as the model's type does
        now = now.replace(tzinfo=None)
    stamp = sa.bindparam("now", type_=sa.DateTime(timezone=True))
    workspaces = [row[0] for row in bind.execute(sa.text("SELECT id FROM workspaces"))]
    with_settings = {
        row[0] for row in bind.execute(sa.text("SELECT workspace_id FROM tracking_settings"))
    }
    events = {
        (row[0], row[1])
        for row in bind.execute(sa.text("SELECT workspace_id, name FROM conversion_events"))
    }
    for workspace_id in workspaces:
        if workspace_id not in with_settings:
            bind.execute(
                sa.text(
                    "INSERT INTO tracking_settings (workspace_id, public_key, allowed_domains,"
                    " auto_track_forms, rejected_malformed, rejected_oversized,"
                    " rejected_foreign_origin, dropped_bots, created_at)"
                    " VALUES (:ws, :key, '[]', false, 0, 0, 0, 0, :now)"
                ).bindparams(stamp),
                {"ws": workspace_id, "key": "pk_" + secrets.token_urlsafe(18), "now": now},
            )
        for name, label in BUILT_INS.items():
            if (workspace_id, name) not in events:
                bind.execute(
                    sa.text(
                        "INSERT INTO conversion_events (workspace_id, name, label, built_in,"
                        " created_at) VALUES (:ws, :name, :label, true, :now)"
                    ).bindparams(stamp),
                    {"ws": workspace_id, "name": name, "label": label, "now": now},
                )


def downgrade():
    pass  # the rows are valid under the previous revision too
