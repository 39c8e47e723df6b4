"""Indexes for /collect's session lookup: touchpoints by session, visit sessions by visitor and
start time (replacing visitor and last hit)

Every pixel hit asks for the visitor's session in effect and the one after it, each joined to
its touchpoint (``webapp.intake.collect``). Without an index on ``touchpoints.session_id`` that
join read the whole touchpoints table on every hit (SQLite's plan: ``SCAN touchpoints``), so the
cost of a page view grew with the workspace's history; deleting a session (retention, a merged
follower) had the same scan for its ON DELETE SET NULL. The session lookup orders by
``started_at``; the old ``(visitor_id, last_hit_at)`` index served no query, and every page view
rewrites ``last_hit_at``, so it only cost writes (on PostgreSQL it also stopped the update from
being HOT).

Revision ID: c7a1f3e9d2b4
Revises: e2a7c4d1f9b3
Create Date: 2026-12-01 16:20:00

"""

from alembic import op

revision = "c7a1f3e9d2b4"
down_revision = "e2a7c4d1f9b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_touchpoints_session_id", "touchpoints", ["session_id"])
    op.create_index(
        "ix_visit_sessions_visitor_started", "visit_sessions", ["visitor_id", "started_at"]
    )
    op.drop_index("ix_visit_sessions_visitor_last", table_name="visit_sessions")


def downgrade():
    op.create_index(
        "ix_visit_sessions_visitor_last", "visit_sessions", ["visitor_id", "last_hit_at"]
    )
    op.drop_index("ix_visit_sessions_visitor_started", table_name="visit_sessions")
    op.drop_index("ix_touchpoints_session_id", table_name="touchpoints")
