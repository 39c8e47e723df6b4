"""The real-time event path (plugin capability ``realtime_events``): per-connection settings
(secrets encrypted like OAuth tokens) and its delivery ledger

Revision ID: e2a7c4d1f9b3
Revises: d2b6f0a4c8e1
Create Date: 2026-12-01 13:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e2a7c4d1f9b3"
down_revision = "d2b6f0a4c8e1"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "realtime_configs",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("browser_tag", sa.Boolean(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"],
            name=op.f("fk_realtime_configs_connection_id_connections"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"],
            name=op.f("fk_realtime_configs_updated_by_id_users"), ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_realtime_configs")),
    )  # fmt: skip
    op.create_table(
        "realtime_deliveries",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("conversion_id", BIG_ID, nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_name", sa.String(length=64), nullable=False),
        sa.Column("consent", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"],
            name=op.f("fk_realtime_deliveries_connection_id_connections"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversion_id"], ["conversions.id"],
            name=op.f("fk_realtime_deliveries_conversion_id_conversions"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_realtime_deliveries")),
        sa.UniqueConstraint(
            "connection_id", "conversion_id",
            name=op.f("uq_realtime_deliveries_connection_id_conversion_id"),
        ),
    )  # fmt: skip
    with op.batch_alter_table("realtime_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_realtime_deliveries_claim",
            ["connection_id", "status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_realtime_deliveries_claim_token"), ["claim_token"], unique=False
        )
        batch_op.create_index(
            "ix_realtime_deliveries_conversion", ["conversion_id"], unique=False
        )


def downgrade():
    op.drop_table("realtime_deliveries")
    op.drop_table("realtime_configs")
