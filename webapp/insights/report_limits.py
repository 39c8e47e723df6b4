"""Which report-slot group a connection's pull belongs to, from its plugin's declared limits."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.extensions import db, platform_registry
from webapp.models import Connection


@dataclass(frozen=True)
class ReportGate:
    key: str  # one per platform and customer (the account when the platform has no customers)
    cap: int  # pulls of that customer at once


def gate_for(connection: Connection) -> ReportGate | None:
    """None when the connection's platform declares no report limit (or is not installed)."""
    platform = platform_registry().get(connection.platform_key)
    cap = platform.report_limits.in_flight_per_customer if platform is not None else None
    if cap is None:
        return None
    customer = connection.customer_id or connection.account_id
    return ReportGate(f"report-slots:{connection.platform_key}:{customer}", cap)


def report_gate(connection_id: int) -> ReportGate | None:
    """None when the connection is gone or its platform declares no report limit."""
    connection = db.session.get(Connection, connection_id)
    return gate_for(connection) if connection is not None else None
