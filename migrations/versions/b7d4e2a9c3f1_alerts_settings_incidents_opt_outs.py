"""Alerts: per-workspace settings, incidents (open and past), members' opt-outs

Revision ID: b7d4e2a9c3f1
Revises: a1c0e7b2d912
Create Date: 2026-12-01 10:50:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "b7d4e2a9c3f1"
down_revision = "a1c0e7b2d912"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alert_settings",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("match_rate_threshold", sa.Integer(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_alert_settings_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_alert_settings")),
    )
    op.create_table(
        "alert_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=True),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("figure", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opened_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivery_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_alert_incidents_connection_id_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_alert_incidents_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_incidents")),
    )
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_alert_incidents_workspace_opened", ["workspace_id", "opened_at"], unique=False
        )
    op.create_table(
        "alert_opt_outs",
        sa.Column("membership_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["membership_id"],
            ["memberships.id"],
            name=op.f("fk_alert_opt_outs_membership_id_memberships"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("membership_id", name=op.f("pk_alert_opt_outs")),
    )


def downgrade():
    op.drop_table("alert_opt_outs")
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_incidents_workspace_opened")
    op.drop_table("alert_incidents")
    op.drop_table("alert_settings")
