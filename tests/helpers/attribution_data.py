"""Tracking data for attribution tests: a visitor's touches and conversions, plus a connected
Microsoft account with one pulled campaign and its daily cost."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def visitor(workspace_id: int, uid: str = "v1") -> int:
    from webapp.extensions import db
    from webapp.models import Visitor

    v = Visitor(workspace_id=workspace_id, uid=uid)
    db.session.add(v)
    db.session.commit()
    return v.id


def touch(
    workspace_id: int, visitor_id: int, days_before: float, channel: str, campaign: str = "",
    utm: dict[str, str] | None = None, click_id: str | None = None,
) -> int:  # fmt: skip
    from webapp.extensions import db
    from webapp.models import Touchpoint

    t = Touchpoint(
        workspace_id=workspace_id,
        visitor_id=visitor_id,
        occurred_at=T0 - timedelta(days=days_before),
        channel=channel,
        campaign=campaign,
        utm=utm or ({"utm_campaign": campaign} if campaign else {}),
        click_param="msclkid" if click_id else None,
        click_id=click_id,
    )
    db.session.add(t)
    db.session.commit()
    return t.id


def conversion(
    workspace_id: int, visitor_id: int | None, value: str | None, *, external_id: str,
    at: datetime = T0, currency: str = "USD", msclkid: str | None = None,
) -> int:  # fmt: skip
    from webapp.extensions import db
    from webapp.models import Conversion, ConversionClickId

    c = Conversion(
        workspace_id=workspace_id,
        visitor_id=visitor_id,
        event="purchase",
        occurred_at=at,
        value=Decimal(value) if value is not None else None,
        currency=currency,
        external_id=external_id,
        source="api",
    )
    db.session.add(c)
    db.session.flush()
    if msclkid:
        db.session.add(
            ConversionClickId(conversion_id=c.id, click_param="msclkid", click_id=msclkid)
        )
    db.session.commit()
    return c.id


def adjust(workspace_id: int, conversion_id: int, new_value: str, external_id: str) -> None:
    from webapp.extensions import db
    from webapp.models import ConversionAdjustment

    db.session.add(
        ConversionAdjustment(
            workspace_id=workspace_id,
            conversion_id=conversion_id,
            kind=ConversionAdjustment.VALUE_CHANGE,
            new_value=Decimal(new_value),
            currency="USD",
            occurred_at=T0 + timedelta(days=1),
            external_id=external_id,
        )
    )
    db.session.commit()


def microsoft_campaign(
    workspace_id: int, entity_id: str, name: str, spend_by_day: dict[date, str]
) -> int:
    from webapp.extensions import db
    from webapp.models import AdEntity, Connection, InsightDaily

    conn = Connection(
        workspace_id=workspace_id,
        platform_key="microsoft_ads",
        account_id="80000011",
        account_name="Fabrikam Outdoor US",
    )
    db.session.add(conn)
    db.session.flush()
    db.session.add(
        AdEntity(connection_id=conn.id, level="campaign", entity_id=entity_id, name=name)
    )
    for day, spend in spend_by_day.items():
        db.session.add(
            InsightDaily(
                connection_id=conn.id, level="campaign", entity_id=entity_id, day=day,
                spend=Decimal(spend), currency="USD",
            )
        )  # fmt: skip
    db.session.commit()
    return conn.id
