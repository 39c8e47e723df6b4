"""Plugins own click ids and identities: conversion_click_ids replaces conversions.msclkid, the
push ledger remembers each click id's parameter, digests are kept per identity rule set, and a
workspace has a default phone region

Revision ID: 7c1d2e3f4a5b
Revises: 6b1e2c7d9a40
Create Date: 2026-12-01 10:30:00

Today's data carries over: every conversions.msclkid becomes a ('msclkid', id) pair, ledger rows
that hold a click id (only the Microsoft Ads plugin pushed until now) get click_param 'msclkid',
and the stored email/phone digests (normalised by Microsoft's rules until now) become the
'microsoft_ads' rule set's digests. The downgrade puts the msclkid pairs back into the column
(pairs of other parameters have nowhere to go and are dropped).
"""

from alembic import op
import sqlalchemy as sa


revision = "7c1d2e3f4a5b"
down_revision = "6b1e2c7d9a40"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "conversion_click_ids",
        sa.Column("conversion_id", BigId, nullable=False),
        sa.Column("click_param", sa.String(length=16), nullable=False),
        sa.Column("click_id", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversion_id"],
            ["conversions.id"],
            name=op.f("fk_conversion_click_ids_conversion_id_conversions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversion_id", "click_param", name=op.f("pk_conversion_click_ids")),
    )
    op.create_index(
        "ix_conversion_click_ids_param_id",
        "conversion_click_ids",
        ["click_param", "click_id"],
        unique=False,
    )
    op.execute(
        "INSERT INTO conversion_click_ids (conversion_id, click_param, click_id) "
        "SELECT id, 'msclkid', msclkid FROM conversions WHERE msclkid IS NOT NULL AND msclkid <> ''"
    )
    # Plain ALTER TABLE (SQLite >= 3.35 has DROP COLUMN), never a batch copy: on SQLite a batch
    # drops and recreates ``conversions``, and with foreign keys on that DROP cascades into every
    # table that references it (the ledger, adjustments, credits, these pairs).
    op.execute("ALTER TABLE conversions DROP COLUMN msclkid")
    op.add_column(
        "conversion_deliveries", sa.Column("click_param", sa.String(length=16), nullable=True)
    )
    op.execute(
        "UPDATE conversion_deliveries SET click_param = 'msclkid' WHERE click_id IS NOT NULL"
    )
    op.add_column("tracking_settings", sa.Column("default_phone_region", sa.String(2)))
    for table in ("visitors", "conversions"):
        op.add_column(table, sa.Column("identity_digests", sa.JSON(), nullable=True))
        _digests_from_columns(table)


def _digests_from_columns(table):
    """The digests stored so far were normalised by Microsoft's rules."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            f"SELECT id, email_sha256, phone_sha256 FROM {table} "
            "WHERE email_sha256 IS NOT NULL OR phone_sha256 IS NOT NULL"
        )
    ).all()
    update = sa.text(f"UPDATE {table} SET identity_digests = :digests WHERE id = :id").bindparams(
        sa.bindparam("digests", type_=sa.JSON())
    )
    for start in range(0, len(rows), 500):
        batch = []
        for row_id, email, phone in rows[start : start + 500]:
            own = {k: v for k, v in (("email", email), ("phone", phone)) if v}
            batch.append({"id": row_id, "digests": {"microsoft_ads": own}})
        conn.execute(update, batch)


def downgrade():
    for table in ("conversions", "visitors"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN identity_digests")
    op.execute("ALTER TABLE tracking_settings DROP COLUMN default_phone_region")
    op.execute("ALTER TABLE conversion_deliveries DROP COLUMN click_param")
    op.add_column("conversions", sa.Column("msclkid", sa.String(length=255), nullable=True))
    op.execute(
        "UPDATE conversions SET msclkid = (SELECT click_id FROM conversion_click_ids c "
        "WHERE c.conversion_id = conversions.id AND c.click_param = 'msclkid')"
    )
    op.drop_index("ix_conversion_click_ids_param_id", table_name="conversion_click_ids")
    op.drop_table("conversion_click_ids")
