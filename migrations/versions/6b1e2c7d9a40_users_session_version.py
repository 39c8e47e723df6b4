"""users.session_version: part of every session cookie, bumped to revoke a user's sessions

Revision ID: 6b1e2c7d9a40
Revises: dae29d84be7e
Create Date: 2026-12-01 10:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "6b1e2c7d9a40"
down_revision = "dae29d84be7e"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="1", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
