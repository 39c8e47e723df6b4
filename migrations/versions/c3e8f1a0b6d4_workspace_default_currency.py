"""Workspace default currency (money on pages; empty: the first connected account's)

Revision ID: c3e8f1a0b6d4
Revises: b7d4e2a9c3f1
Create Date: 2026-12-01 11:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e8f1a0b6d4'
down_revision = 'b7d4e2a9c3f1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('default_currency', sa.String(length=3), nullable=True))


def downgrade():
    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.drop_column('default_currency')
