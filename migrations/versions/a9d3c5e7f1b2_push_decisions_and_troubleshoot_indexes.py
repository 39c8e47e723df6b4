"""Push decisions (why a mapped conversion has no ledger row yet: waiting until when, or not
eligible, with its reason code) and the indexes the state model counts and Troubleshoot searches
with (ledger by state and time, decisions by time, conversions by event, click id on the ledger,
email digest on conversions and visitors)

Revision ID: a9d3c5e7f1b2
Revises: a9c4e7d21f03
Create Date: 2026-12-01 13:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a9d3c5e7f1b2"
down_revision = "a9c4e7d21f03"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "push_decisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("conversion_id", BigId, nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("has_click", sa.Boolean(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversion_id"], ["conversions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("connection_id", "conversion_id"),
    )
    op.create_index(
        "ix_push_decisions_conversion_id", "push_decisions", ["conversion_id"], unique=False
    )
    # The ledger keeps its conversion's event (copied, like conversion_time).
    with op.batch_alter_table("conversion_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event", sa.String(length=64), nullable=True))
    op.execute(
        "UPDATE conversion_deliveries SET event = (SELECT conversions.event FROM conversions "
        "WHERE conversions.id = conversion_deliveries.conversion_id)"
    )
    with op.batch_alter_table("conversion_deliveries", schema=None) as batch_op:
        batch_op.alter_column("event", existing_type=sa.String(length=64), nullable=False)
    op.create_index(
        "ix_conversion_deliveries_event",
        "conversion_deliveries",
        ["connection_id", "event", "conversion_time"],
    )
    op.create_index(
        "ix_push_decisions_count",
        "push_decisions",
        ["connection_id", "event", "state", "reason", "occurred_at", "until"],
    )
    op.create_index(
        "ix_push_decisions_time", "push_decisions", ["connection_id", "event", "occurred_at"]
    )
    op.create_index(
        "ix_push_decisions_wait", "push_decisions", ["connection_id", "event", "state", "until"]
    )
    op.create_index(
        "ix_conversion_deliveries_state",
        "conversion_deliveries",
        ["connection_id", "status", "conversion_time", "next_attempt_at", "claimed_until"],
    )
    op.create_index(
        "ix_conversions_workspace_event_occurred",
        "conversions",
        ["workspace_id", "event", "occurred_at"],
    )
    op.create_index(
        "ix_conversion_deliveries_click",
        "conversion_deliveries",
        ["connection_id", "click_id"],
        unique=False,
    )
    op.create_index(
        "ix_conversions_workspace_email", "conversions", ["workspace_id", "email_sha256"]
    )
    op.create_index("ix_visitors_workspace_email", "visitors", ["workspace_id", "email_sha256"])


def downgrade():
    op.drop_index("ix_conversions_workspace_event_occurred", table_name="conversions")
    op.drop_index("ix_conversion_deliveries_state", table_name="conversion_deliveries")
    op.drop_index("ix_conversion_deliveries_event", table_name="conversion_deliveries")
    with op.batch_alter_table("conversion_deliveries", schema=None) as batch_op:
        batch_op.drop_column("event")
    op.drop_index("ix_push_decisions_wait", table_name="push_decisions")
    op.drop_index("ix_push_decisions_time", table_name="push_decisions")
    op.drop_index("ix_push_decisions_count", table_name="push_decisions")
    op.drop_index("ix_visitors_workspace_email", table_name="visitors")
    op.drop_index("ix_conversions_workspace_email", table_name="conversions")
    op.drop_index("ix_conversion_deliveries_click", table_name="conversion_deliveries")
    op.drop_index("ix_push_decisions_conversion_id", table_name="push_decisions")
    op.drop_table("push_decisions")
