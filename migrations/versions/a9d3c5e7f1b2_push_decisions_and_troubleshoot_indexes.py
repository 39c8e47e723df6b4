"""Push decisions (why a mapped conversion has no ledger row yet: waiting until when, or not
eligible, with its reason code) and the indexes Troubleshoot's search needs (click id on the
ledger, email digest on conversions and visitors)

Revision ID: a9d3c5e7f1b2
Revises: 8e4f0c2a7b19
Create Date: 2026-12-01 13:05:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a9d3c5e7f1b2"
down_revision = "8e4f0c2a7b19"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "push_decisions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("conversion_id", BigId, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
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
    op.drop_index("ix_visitors_workspace_email", table_name="visitors")
    op.drop_index("ix_conversions_workspace_email", table_name="conversions")
    op.drop_index("ix_conversion_deliveries_click", table_name="conversion_deliveries")
    op.drop_index("ix_push_decisions_conversion_id", table_name="push_decisions")
    op.drop_table("push_decisions")
