"""Push ledger: the platform's receipt of an accepted row (the request that carried it), so a
platform that processes uploads later can be asked what became of them

Revision ID: a9c4e7d21f03
Revises: d1a9c4e7f203
Create Date: 2026-12-01 13:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a9c4e7d21f03"
down_revision = "d1a9c4e7f203"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversion_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt", sa.String(128), nullable=True))


def downgrade():
    with op.batch_alter_table("conversion_deliveries", schema=None) as batch_op:
        batch_op.drop_column("receipt")
