"""Requests about one person: export everything held about them, or erase it.

A person is found by email or phone (hashed on arrival with every installed plugin's identity
rules, never stored in clear), by the pixel's visitor id, or by a conversion's external id. Both
operations are idempotent and audited; the audit entry of an erasure carries counts, never the
identifier. Erasure deletes the visitors (their sessions, touchpoints and click ids go with them),
their conversions and the conversions matched by identity (with supplied click ids, adjustments,
attribution credits and push-ledger rows). A later hit of the same browser starts a new visitor.

With ``retract``, a conversion already sent to a platform is not deleted at once: it is stripped
of everything that identifies the person (visitor, digests, properties, external id, supplied
click ids) and gets a full refund, which the existing adjustments path turns into a retraction
for every platform that takes adjustments; the push deletes it once every retraction is done
(``finish_retractions``), or after ``RETRACT_GRACE`` at the latest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, exists, func, select, update

from webapp.common import audit
from webapp.common.errors import ServiceError
from webapp.extensions import db
from webapp.intake import conversions, identity
from webapp.models import (
    AdClick,
    AdjustmentDelivery,
    Conversion,
    ConversionAdjustment,
    ConversionClickId,
    ConversionDelivery,
    DeliveryEvent,
    PushDecision,
    RealtimeDelivery,
    Touchpoint,
    TrackingSettings,
    Visitor,
    VisitSession,
)
from webapp.models.attribution import AttributedConversion, AttributionCredit
from webapp.models.types import utcnow

SELECTORS = ("email", "phone", "visitor_id", "external_id")
ERASED_PREFIX = "erased:"  # the external id of a conversion kept only until it is retracted
RETRACT_GRACE = timedelta(days=30)


class InvalidSelector(ServiceError):
    status_code = 422


@dataclass(frozen=True)
class Person:
    """Which rows belong to the person a request names."""

    visitor_ids: tuple[int, ...] = ()
    conversion_ids: tuple[int, ...] = ()


@dataclass
class Erasure:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def parse_selector(raw: dict[str, Any]) -> tuple[str, str]:
    """Exactly one of ``SELECTORS`` with a non-empty string of at most 254 characters."""
    given = [(k, raw.get(k)) for k in SELECTORS if raw.get(k) not in (None, "")]
    unknown = set(raw) - set(SELECTORS) - {"retract"}
    if unknown or len(given) != 1:
        raise InvalidSelector("give exactly one of " + ", ".join(SELECTORS))
    name, value = given[0]
    if not isinstance(value, str) or len(value) > 254:
        raise InvalidSelector(f"{name} must be a string of at most 254 characters")
    return name, value.strip()


def find(workspace_id: int, name: str, value: str) -> Person:
    """The person's visitors and conversions in this workspace only."""
    if name == "visitor_id":
        visitors = set(
            db.session.scalars(
                select(Visitor.id).where(Visitor.workspace_id == workspace_id, Visitor.uid == value)
            )
        )
        matched: set[int] = set()
    elif name == "external_id":
        rows = db.session.execute(
            select(Conversion.id, Conversion.visitor_id).where(
                Conversion.workspace_id == workspace_id, Conversion.external_id == value
            )
        ).all()
        visitors = {vid for _cid, vid in rows if vid is not None}
        matched = {cid for cid, _vid in rows}
    else:
        region = db.session.scalar(
            select(TrackingSettings.default_phone_region).where(
                TrackingSettings.workspace_id == workspace_id
            )
        )
        digests, _unusable = identity.hash_identity(
            email=value if name == "email" else None,
            phone=value if name == "phone" else None,
            region=region,
        )
        hashes = {d[name] for d in digests.by_rules.values() if d.get(name)}
        hashes |= {getattr(digests, name)} - {None}
        if not hashes:
            raise InvalidSelector(f"{name} is not a usable {name}")
        column_v = Visitor.email_sha256 if name == "email" else Visitor.phone_sha256
        column_c = Conversion.email_sha256 if name == "email" else Conversion.phone_sha256
        visitors = set(
            db.session.scalars(
                select(Visitor.id).where(Visitor.workspace_id == workspace_id, column_v.in_(hashes))
            )
        )
        matched = set(
            db.session.scalars(
                select(Conversion.id).where(
                    Conversion.workspace_id == workspace_id, column_c.in_(hashes)
                )
            )
        )
    if visitors:
        matched |= set(
            db.session.scalars(
                select(Conversion.id).where(
                    Conversion.workspace_id == workspace_id, Conversion.visitor_id.in_(visitors)
                )
            )
        )
    return Person(tuple(sorted(visitors)), tuple(sorted(matched)))


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def erase(
    workspace_id: int,
    name: str,
    value: str,
    *,
    actor_id: int | None = None,
    retract: bool = False,
) -> Erasure:
    """Delete everything held about the person; idempotent (a second call finds nothing and
    erases nothing). Audited with counts only."""
    person = find(workspace_id, name, value)
    v, c = person.visitor_ids, person.conversion_ids
    kept: tuple[int, ...] = ()
    if retract:
        D = ConversionDelivery
        kept = tuple(
            sorted(
                set(
                    db.session.scalars(
                        select(D.conversion_id).where(D.conversion_id.in_(c), D.status == D.SENT)
                    )
                )
            )
        )
        c = tuple(sorted(set(c) - set(kept)))
    result = Erasure()
    counts = result.counts
    counts["visitors"] = len(v)
    counts["sessions"] = _count(VisitSession, VisitSession.visitor_id.in_(v))
    counts["touchpoints"] = _count(Touchpoint, Touchpoint.visitor_id.in_(v))
    counts["click_ids"] = _count(AdClick, AdClick.visitor_id.in_(v))
    counts["conversions"] = len(c) + len(kept)
    counts["attribution_credits"] = _count(
        AttributionCredit, AttributionCredit.conversion_id.in_(c + kept)
    )
    counts["unsent_ledger_rows"] = _count(
        ConversionDelivery,
        ConversionDelivery.conversion_id.in_(c + kept),
        ConversionDelivery.status != ConversionDelivery.SENT,
    )
    counts["retractions_requested"] = len(kept)
    if kept:
        _strip_for_retraction(workspace_id, kept)
    counts["sent_ledger_rows"] = _count(
        ConversionDelivery,
        ConversionDelivery.conversion_id.in_(c),
        ConversionDelivery.status == ConversionDelivery.SENT,
    )
    # Children first and explicitly, so the result does not depend on the database enforcing
    # ON DELETE CASCADE.
    for model, column in (
        (AttributionCredit, AttributionCredit.conversion_id),
        (AttributedConversion, AttributedConversion.conversion_id),
        (DeliveryEvent, DeliveryEvent.conversion_id),
        (ConversionDelivery, ConversionDelivery.conversion_id),
        (PushDecision, PushDecision.conversion_id),
        (RealtimeDelivery, RealtimeDelivery.conversion_id),
    ):
        db.session.execute(delete(model).where(column.in_(c)))
    db.session.execute(delete(Conversion).where(Conversion.id.in_(c)))
    for model, column in (
        (AdClick, AdClick.visitor_id),
        (Touchpoint, Touchpoint.visitor_id),
        (VisitSession, VisitSession.visitor_id),
    ):
        db.session.execute(delete(model).where(column.in_(v)))
    db.session.execute(delete(Visitor).where(Visitor.id.in_(v)))
    audit.record(
        "privacy.erased",
        workspace_id=workspace_id,
        actor_id=actor_id,
        target=f"by {name}",
        **counts,
    )
    db.session.commit()
    return result


def _strip_for_retraction(workspace_id: int, kept: tuple[int, ...]) -> None:
    """Keep only what a retraction quotes (the sent ledger rows) and ask for it: a full refund."""
    D = ConversionDelivery
    for model, column in (
        (AttributionCredit, AttributionCredit.conversion_id),
        (AttributedConversion, AttributedConversion.conversion_id),
        (ConversionClickId, ConversionClickId.conversion_id),
    ):
        db.session.execute(delete(model).where(column.in_(kept)))
    db.session.execute(delete(D).where(D.conversion_id.in_(kept), D.status != D.SENT))
    now = utcnow()
    for cid in kept:
        db.session.execute(
            update(Conversion)
            .where(Conversion.id == cid)
            .values(
                visitor_id=None,
                email_sha256=None,
                phone_sha256=None,
                identity_digests=None,
                properties={},
                external_id=f"{ERASED_PREFIX}{cid}",
                created_at=now,
            )
        )
        db.session.add(
            ConversionAdjustment(
                workspace_id=workspace_id,
                conversion_id=cid,
                kind=ConversionAdjustment.REFUND,
                new_value=Decimal(0),
                occurred_at=now,
                external_id=f"{ERASED_PREFIX}{cid}",
            )
        )


def finish_retractions(workspace_id: int) -> int:
    """Delete the erased conversions whose retractions are all done (no sent ledger row without
    a finished adjustment row), or that have waited ``RETRACT_GRACE``; → how many."""
    D, A = ConversionDelivery, AdjustmentDelivery
    waiting = exists().where(
        D.conversion_id == Conversion.id,
        D.status == D.SENT,
        ~exists().where(A.delivery_id == D.id, A.status.in_(("sent", "failed", "skipped"))),
    )
    ids = list(
        db.session.scalars(
            select(Conversion.id).where(
                Conversion.workspace_id == workspace_id,
                Conversion.external_id.startswith(ERASED_PREFIX),
                (~waiting) | (Conversion.created_at < utcnow() - RETRACT_GRACE),
            )
        )
    )
    if ids:
        db.session.execute(
            delete(A).where(A.delivery_id.in_(select(D.id).where(D.conversion_id.in_(ids))))
        )
        db.session.execute(
            delete(ConversionAdjustment).where(ConversionAdjustment.conversion_id.in_(ids))
        )
        db.session.execute(delete(D).where(D.conversion_id.in_(ids)))
        db.session.execute(delete(Conversion).where(Conversion.id.in_(ids)))
    db.session.commit()
    return len(ids)


def export(workspace_id: int, name: str, value: str, *, actor_id: int | None = None) -> dict:
    """Everything held about the person, as JSON-ready values. Audited without the identifier."""
    person = find(workspace_id, name, value)
    v = person.visitor_ids
    visitors = db.session.scalars(select(Visitor).where(Visitor.id.in_(v))).all()
    uid = {row.id: row.uid for row in visitors}

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    data = {
        "visitors": [
            {
                "visitor_id": row.uid,
                "first_seen_at": when(row.first_seen_at),
                "last_seen_at": when(row.last_seen_at),
                "email_sha256": row.email_sha256,
                "phone_sha256": row.phone_sha256,
                "consent": {"ad_storage": row.consent_state, "source": row.consent_source},
            }
            for row in visitors
        ],
        "sessions": [
            {
                "visitor_id": uid[row.visitor_id],
                "started_at": when(row.started_at),
                "last_hit_at": when(row.last_hit_at),
                "hits": row.hits,
                "landing_url": row.landing_url,
                "referrer": row.referrer,
            }
            for row in db.session.scalars(
                select(VisitSession)
                .where(VisitSession.visitor_id.in_(v))
                .order_by(VisitSession.started_at)
            )
        ],
        "touchpoints": [
            {
                "visitor_id": uid[row.visitor_id],
                "occurred_at": when(row.occurred_at),
                "channel": row.channel,
                "source": row.source,
                "medium": row.medium,
                "campaign": row.campaign,
                "utm": row.utm,
                "landing_url": row.landing_url,
                "referrer": row.referrer,
                "click_param": row.click_param,
                "click_id": row.click_id,
            }
            for row in db.session.scalars(
                select(Touchpoint)
                .where(Touchpoint.visitor_id.in_(v))
                .order_by(Touchpoint.occurred_at)
            )
        ],
        "click_ids": [
            {
                "visitor_id": uid[row.visitor_id],
                "click_param": row.click_param,
                "click_id": row.click_id,
                "clicked_at": when(row.clicked_at),
                "landing_url": row.landing_url,
            }
            for row in db.session.scalars(
                select(AdClick).where(AdClick.visitor_id.in_(v)).order_by(AdClick.clicked_at)
            )
        ],
        "conversions": [
            {
                **conversions.as_json(row, with_delivery=True),
                "email_sha256": row.email_sha256,
                "phone_sha256": row.phone_sha256,
                "properties": row.properties,
            }
            for row in db.session.scalars(
                select(Conversion)
                .where(Conversion.id.in_(person.conversion_ids))
                .order_by(Conversion.occurred_at)
            )
        ],
    }
    audit.record(
        "privacy.exported",
        workspace_id=workspace_id,
        actor_id=actor_id,
        target=f"by {name}",
        visitors=len(v),
        conversions=len(person.conversion_ids),
    )
    db.session.commit()
    return data


__all__ = ["SELECTORS", "Erasure", "InvalidSelector", "Person", "erase", "export", "find"]
