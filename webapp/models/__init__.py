"""Models, one module per aggregate. Import from here so that every table is registered."""

from webapp.models.alerts import AlertIncident, AlertOptOut, AlertSettings
from webapp.models.attribution import AttributedConversion, AttributionCredit, AttributionSettings
from webapp.models.audit import AuditEvent
from webapp.models.connection import Connection, Credential
from webapp.models.insights import AdEntity, GoalDiagnosticsDaily, InsightDaily, InsightSyncState
from webapp.models.intake import ApiKey, ConversionEvent, TrackingSettings
from webapp.models.job_run import JobRun
from webapp.models.push import (
    AdjustmentDelivery,
    ConversionDelivery,
    DeliveryEvent,
    GoalMapping,
    PlatformGoal,
    PushConfig,
    PushDecision,
    PushRun,
)
from webapp.models.realtime import RealtimeConfig, RealtimeDelivery
from webapp.models.tracking import (
    AdClick,
    Conversion,
    ConversionAdjustment,
    ConversionClickId,
    Touchpoint,
    Visitor,
    VisitSession,
)
from webapp.models.user import User
from webapp.models.workspace import Invite, Membership, Workspace

__all__ = [
    "AlertIncident",
    "AlertOptOut",
    "AlertSettings",
    "AttributedConversion",
    "AttributionCredit",
    "AttributionSettings",
    "AdjustmentDelivery",
    "ConversionDelivery",
    "GoalMapping",
    "PlatformGoal",
    "PushConfig",
    "PushDecision",
    "DeliveryEvent",
    "PushRun",
    "RealtimeConfig",
    "RealtimeDelivery",
    "AdEntity",
    "GoalDiagnosticsDaily",
    "InsightDaily",
    "InsightSyncState",
    "ApiKey",
    "ConversionEvent",
    "TrackingSettings",
    "AdClick",
    "Conversion",
    "ConversionClickId",
    "ConversionAdjustment",
    "Touchpoint",
    "Visitor",
    "VisitSession",
    "AuditEvent",
    "Connection",
    "Credential",
    "Invite",
    "JobRun",
    "Membership",
    "User",
    "Workspace",
]
