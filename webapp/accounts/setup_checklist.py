"""A new workspace's first steps, each ticked from what has really happened (never from a
flag someone sets): the dashboard shows them until every one is done."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, select

from webapp.extensions import db
from webapp.models import (
    Connection,
    ConversionDelivery,
    GoalMapping,
    InsightSyncState,
    TrackingSettings,
)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    hint: str  # what to do, or what was seen
    endpoint: str  # where to do it (a view endpoint; ``connection_id`` when one is known)
    connection_id: int | None = None


def steps(workspace_id: int) -> list[Step]:
    tracking = db.session.get(TrackingSettings, workspace_id)
    hit = tracking is not None and tracking.last_hit_at is not None
    installed = hit or bool(tracking is not None and tracking.allowed_domains)
    first_connection = db.session.scalar(
        select(Connection.id)
        .where(
            Connection.workspace_id == workspace_id, Connection.status != Connection.DISCONNECTED
        )
        .order_by(Connection.connected_at, Connection.id)
        .limit(1)
    )
    of_workspace = select(Connection.id).where(Connection.workspace_id == workspace_id)
    mapped = db.session.scalar(select(exists().where(GoalMapping.connection_id.in_(of_workspace))))
    pushed = db.session.scalar(
        select(
            exists().where(
                ConversionDelivery.connection_id.in_(of_workspace),
                ConversionDelivery.status == ConversionDelivery.SENT,
            )
        )
    )
    pulled = db.session.scalar(
        select(
            exists().where(
                InsightSyncState.connection_id.in_(of_workspace),
                InsightSyncState.last_success_at.is_not(None),
            )
        )
    )
    return [
        Step(
            "pixel",
            "Install the pixel",
            installed,
            "Paste the snippet into every page of your site (and list its domains).",
            "tracking.index",
        ),
        Step(
            "first_hit",
            "First hit seen",
            hit,
            f"Last hit from {tracking.last_hit_domain or 'your site'}."
            if hit
            else "Open a page of your site with the pixel on it; the hit shows here.",
            "tracking.index",
        ),
        Step(
            "connect",
            "Connect an ad account",
            first_connection is not None,
            "Sign in to an ad platform and pick the account whose clicks bring your visitors.",
            "platforms.index",
        ),
        Step(
            "map_goals",
            "Map goals",
            bool(mapped),
            "Choose which SourceLoop event feeds which conversion goal of the account.",
            "push.configure" if first_connection else "platforms.index",
            first_connection,
        ),
        Step(
            "first_push",
            "First conversion pushed",
            bool(pushed),
            "Pushes run every 2 minutes; Troubleshoot says why a conversion waits.",
            "push.troubleshoot" if first_connection else "platforms.index",
            first_connection,
        ),
        Step(
            "first_pull",
            "First insights pulled",
            bool(pulled),
            "The daily pull brings spend and the platform's diagnostics; Sync now starts one.",
            "insights.index",
        ),
    ]
