"""Consent and retention: visitors' and conversions' consent state and source, the consent a
ledger row was planned with, the workspace's "require consent before storing" setting, and how
many days page views and conversions are kept

Revision ID: 8e4f0c2a7b19
Revises: c3e8f1a0b6d4
Create Date: 2026-12-01 11:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "8e4f0c2a7b19"
down_revision = "c3e8f1a0b6d4"
branch_labels = None
depends_on = None


def _consent_columns(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent_state", sa.String(8), server_default="unknown", nullable=False)
        )
        batch_op.add_column(
            sa.Column("consent_source", sa.String(8), server_default="default", nullable=False)
        )


def upgrade():
    _consent_columns("visitors")
    _consent_columns("conversions")
    with op.batch_alter_table("conversion_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("consent", sa.String(8), server_default="unknown", nullable=False)
        )
    with op.batch_alter_table("tracking_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("require_consent", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("retention_pageview_days", sa.Integer(), server_default="395", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "retention_conversion_days", sa.Integer(), server_default="1095", nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("tracking_settings", schema=None) as batch_op:
        batch_op.drop_column("retention_conversion_days")
        batch_op.drop_column("retention_pageview_days")
        batch_op.drop_column("require_consent")
    with op.batch_alter_table("conversion_deliveries", schema=None) as batch_op:
        batch_op.drop_column("consent")
    for table in ("conversions", "visitors"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("consent_source")
            batch_op.drop_column("consent_state")
