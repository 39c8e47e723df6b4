"""Attribution credits remember the pulled ad group a touch belongs to (by the auto-tagged ad
group name), so SourceLoop's revenue and ROAS show per ad group too

Revision ID: d1a9c4e7f203
Revises: 8e4f0c2a7b19
Create Date: 2026-12-01 13:10:00

Existing credits are recomputed by the next attribution run (the credits' settings key changed).
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d1a9c4e7f203"
down_revision = "8e4f0c2a7b19"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("attribution_credits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ad_group_entity_id", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("attribution_credits", schema=None) as batch_op:
        batch_op.drop_column("ad_group_entity_id")
