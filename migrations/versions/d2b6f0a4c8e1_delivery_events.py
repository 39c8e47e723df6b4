"""Delivery events: each conversion's eligibility decisions, attempts (with their push run and the
platform's answer) and adjustments per connection, for the conversion page's timeline

Revision ID: d2b6f0a4c8e1
Revises: a9d3c5e7f1b2
Create Date: 2026-12-01 13:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d2b6f0a4c8e1"
down_revision = "a9d3c5e7f1b2"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "delivery_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("conversion_id", BigId, nullable=False),
        sa.Column("push_run_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("goal_name", sa.String(length=255), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["connection_id"], ["connections.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversion_id"], ["conversions.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["push_run_id"], ["push_runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_delivery_events_conversion", "delivery_events", ["conversion_id", "at"], unique=False
    )


def downgrade():
    op.drop_index("ix_delivery_events_conversion", table_name="delivery_events")
    op.drop_table("delivery_events")
