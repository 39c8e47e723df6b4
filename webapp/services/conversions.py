"""Conversions in: one validation for every sender (API, pixel, Stripe) and one batch insert
that is idempotent on ``external_id`` and never half-writes.

The insert is ``INSERT ... ON CONFLICT (workspace_id, external_id) DO NOTHING``, so two requests
racing with the same ``external_id`` end with one row, and the loser reports the winner's row as
existing instead of failing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from webapp.extensions import db
from webapp.models import AdClick, Conversion, Visitor
from webapp.models.types import utcnow
from webapp.services import identity
from webapp.services.currencies import ISO_4217
from webapp.services.sql import insert_for

MAX_BATCH = 1000
MAX_VALUE = Decimal("100000000000000")  # Numeric(18, 4)
FUTURE_TOLERANCE = timedelta(minutes=10)
RESERVED_PREFIXES = ("px:", "stripe:")
VISITOR_UID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
CLICK_ID = re.compile(r"^[A-Za-z0-9._~-]{1,255}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

API_FIELDS = frozenset(
    {
        "event",
        "occurred_at",
        "value",
        "currency",
        "external_id",
        "visitor_id",
        "msclkid",
        "email",
        "phone",
        "email_sha256",
        "phone_sha256",
        "properties",
    }
)

# "Delivery status per platform" for GET /api/v1/conversions. The push side appends callables
# ``(conversion) -> list[dict]`` (one dict per platform/goal: platform, status, updated_at...);
# each provider's rows are concatenated into the response's ``delivery`` list.
DELIVERY_STATUS_PROVIDERS: list[Callable[[Conversion], list[dict[str, Any]]]] = []


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class ConversionInput:
    """A validated conversion, ready to insert."""

    event: str
    occurred_at: datetime
    external_id: str
    value: Decimal | None = None
    currency: str | None = None
    visitor_uid: str | None = None
    msclkid: str | None = None
    email_sha256: str | None = None
    phone_sha256: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


def loads_strict(body: bytes | str) -> Any:
    """JSON with exact decimals and without NaN/Infinity (which the standard parser accepts)."""

    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    value = json.loads(body, parse_float=Decimal, parse_constant=reject)
    # A \ud800-style escape decodes to a lone surrogate, which no database or encoder accepts;
    # \u0000 decodes to NUL, which PostgreSQL text refuses.
    suspect = isinstance(body, str) or _UNSTORABLE_ESCAPE.search(body)
    if suspect and _has_unstorable(value):
        raise ValueError(
            "the JSON holds a NUL character or a lone UTF-16 surrogate (\\ud800-\\udfff)"
        )
    return value


_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _has_unstorable(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_value(raw: Any) -> tuple[Decimal | None, str | None]:
    if raw is None:
        return None, None
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float | str):
        return None, 'must be a decimal number (for example 49.90 or "49.90")'
    try:
        value = Decimal(str(raw).strip()) if not isinstance(raw, Decimal) else raw
    except InvalidOperation:
        return None, 'must be a decimal number (for example 49.90 or "49.90")'
    if not value.is_finite():
        return None, "must be a finite number"
    if value < 0:
        return None, "must not be negative"
    if value >= MAX_VALUE:
        return None, "is too large"
    if value != value.quantize(Decimal("0.0001")):
        return None, "has more than 4 decimal places"
    return value.quantize(Decimal("0.0001")), None


def parse_currency(raw: Any) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, str) or raw.upper() not in ISO_4217:
        return None, "must be an ISO 4217 currency code (for example USD or EUR)"
    return raw.upper(), None


def parse_row(
    raw: Any, events: Iterable[str], now: datetime | None = None
) -> tuple[ConversionInput | None, list[FieldError]]:
    """Validate one API row; every invalid field gets its own error."""
    if not isinstance(raw, dict):
        return None, [FieldError("", "each conversion must be a JSON object")]
    now = now or utcnow()
    errors: list[FieldError] = [
        FieldError(str(key)[:64], "unknown field") for key in raw if key not in API_FIELDS
    ]

    def text(name: str, max_len: int, required: bool = False) -> str | None:
        value = raw.get(name)
        if value is None:
            if required:
                errors.append(FieldError(name, "is required"))
            return None
        if not isinstance(value, str) or not value.strip():
            errors.append(FieldError(name, "must be a non-empty string"))
            return None
        if len(value) > max_len or _CONTROL.search(value):
            errors.append(FieldError(name, f"must be at most {max_len} printable characters"))
            return None
        return value.strip()

    event = text("event", 64, required=True)
    if event is not None and event not in set(events):
        errors.append(
            FieldError("event", f"unknown event {event!r}; add it under Setup → Tracking first")
        )
    occurred_at = None
    raw_time = text("occurred_at", 64, required=True)
    if raw_time is not None:
        try:
            occurred_at = datetime.fromisoformat(raw_time)
        except ValueError:
            errors.append(FieldError("occurred_at", "must be an ISO 8601 timestamp"))
        else:
            if occurred_at.tzinfo is None or occurred_at.utcoffset() is None:
                occurred_at = None
                errors.append(
                    FieldError("occurred_at", "must include a UTC offset (for example +00:00 or Z)")
                )
            elif occurred_at > now + FUTURE_TOLERANCE:
                occurred_at = None
                errors.append(FieldError("occurred_at", "is in the future"))
            elif occurred_at.year < 2000:
                occurred_at = None
                errors.append(FieldError("occurred_at", "is too far in the past"))
    external_id = text("external_id", 255, required=True)
    if external_id is not None and external_id.startswith(RESERVED_PREFIXES):
        errors.append(FieldError("external_id", "must not start with px: or stripe: (reserved)"))
    value, problem = parse_value(raw.get("value"))
    if problem:
        errors.append(FieldError("value", problem))
    currency, problem = parse_currency(raw.get("currency"))
    if problem:
        errors.append(FieldError("currency", problem))
    if raw.get("value") is not None and raw.get("currency") is None:
        errors.append(FieldError("currency", "is required when a value is given"))

    visitor_uid = text("visitor_id", 64)
    if visitor_uid is not None and not VISITOR_UID.match(visitor_uid):
        errors.append(FieldError("visitor_id", "is not a SourceLoop visitor id"))
        visitor_uid = None
    msclkid = text("msclkid", 255)
    if msclkid is not None and not CLICK_ID.match(msclkid):
        errors.append(FieldError("msclkid", "is not a click id"))
        msclkid = None
    email_hash = _hashed(raw, "email", identity.email_sha256, "is not an email address", errors)
    phone_hash = _hashed(
        raw,
        "phone",
        identity.phone_sha256,
        "must be in E.164 form (for example +14155550100)",
        errors,
    )
    identity_fields = ("visitor_id", "msclkid", "email", "phone", "email_sha256", "phone_sha256")
    if not any(raw.get(name) is not None for name in identity_fields):
        errors.append(
            FieldError("visitor_id", "an identity is required: visitor_id, msclkid, email or phone")
        )
    properties = raw.get("properties") or {}
    if not isinstance(properties, dict):
        errors.append(FieldError("properties", "must be a JSON object"))
    elif len(json.dumps(properties, default=str)) > 4096:
        errors.append(FieldError("properties", "must be at most 4 KB"))
    if errors:
        return None, errors
    return (
        ConversionInput(
            event=event,
            occurred_at=occurred_at,
            external_id=external_id,
            value=value,
            currency=currency,
            visitor_uid=visitor_uid,
            msclkid=msclkid,
            email_sha256=email_hash,
            phone_sha256=phone_hash,
            properties=json.loads(json.dumps(properties, default=str)),
        ),
        [],
    )


def _hashed(
    raw: dict, name: str, hasher: Callable[[str], str | None], message: str, errors: list
) -> str | None:
    plain, digest = raw.get(name), raw.get(f"{name}_sha256")
    if plain is not None and digest is not None:
        errors.append(FieldError(name, f"give {name} or {name}_sha256, not both"))
        return None
    if digest is not None:
        if not isinstance(digest, str) or not identity.is_sha256(digest.lower()):
            errors.append(FieldError(f"{name}_sha256", "must be 64 hexadecimal characters"))
            return None
        return digest.lower()
    if plain is None:
        return None
    result = hasher(plain) if isinstance(plain, str) and len(plain) <= 254 else None
    if result is None:
        errors.append(FieldError(name, message))
    return result


# --- insert ------------------------------------------------------------------------------------

visitors_t = Visitor.__table__
conversions_t = Conversion.__table__
clicks_t = AdClick.__table__


def _chunks(items: list, size: int = 500):  # noqa: ANN202
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _visitor_ids(
    conn: Connection, workspace_id: int, rows: list[ConversionInput]
) -> list[int | None]:
    """Each row's visitor: by visitor id (created when new), else the last visitor seen with the
    same email/phone digest, else the visitor who made the supplied msclkid click, else a visitor
    keyed by the digest so that one person's conversions stay together."""
    now = utcnow()
    by_uid: dict[str, int] = {}
    by_email: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    by_click: dict[str, int] = {}
    emails = {r.email_sha256 for r in rows if not r.visitor_uid and r.email_sha256}
    phones = {r.phone_sha256 for r in rows if not r.visitor_uid and r.phone_sha256}
    clicks = {r.msclkid for r in rows if not r.visitor_uid and r.msclkid}
    for column, wanted, found in (
        (visitors_t.c.email_sha256, emails, by_email),
        (visitors_t.c.phone_sha256, phones, by_phone),
    ):
        for chunk in _chunks(sorted(wanted)):
            for vid, digest in conn.execute(
                select(visitors_t.c.id, column)
                .where(visitors_t.c.workspace_id == workspace_id, column.in_(chunk))
                .order_by(visitors_t.c.last_seen_at)
            ):
                found[digest] = vid  # the last one seen wins
    for chunk in _chunks(sorted(clicks)):
        for vid, click_id in conn.execute(
            select(clicks_t.c.visitor_id, clicks_t.c.click_id).where(
                clicks_t.c.workspace_id == workspace_id,
                clicks_t.c.click_param == "msclkid",
                clicks_t.c.click_id.in_(chunk),
            )
        ):
            by_click[click_id] = vid

    def fallback_uid(r: ConversionInput) -> str | None:
        if r.visitor_uid:
            return r.visitor_uid
        if (r.email_sha256 and r.email_sha256 in by_email) or (
            r.phone_sha256 and r.phone_sha256 in by_phone
        ):
            return None
        if r.msclkid and r.msclkid in by_click:
            return None
        digest = r.email_sha256 or r.phone_sha256
        return f"api:{digest[:60]}" if digest else None

    wanted_uids = sorted({u for u in map(fallback_uid, rows) if u})
    if wanted_uids:
        conn.execute(
            insert_for(conn, visitors_t).on_conflict_do_nothing(),
            [
                {
                    "workspace_id": workspace_id,
                    "uid": uid,
                    "first_seen_at": now,
                    "last_seen_at": now,
                }
                for uid in wanted_uids
            ],
        )
        for chunk in _chunks(wanted_uids):
            for vid, uid in conn.execute(
                select(visitors_t.c.id, visitors_t.c.uid).where(
                    visitors_t.c.workspace_id == workspace_id, visitors_t.c.uid.in_(chunk)
                )
            ):
                by_uid[uid] = vid

    result: list[int | None] = []
    for r in rows:
        uid = fallback_uid(r)
        if uid:
            result.append(by_uid[uid])
        elif r.email_sha256 and r.email_sha256 in by_email:
            result.append(by_email[r.email_sha256])
        elif r.phone_sha256 and r.phone_sha256 in by_phone:
            result.append(by_phone[r.phone_sha256])
        elif r.msclkid and r.msclkid in by_click:
            result.append(by_click[r.msclkid])
        else:
            result.append(None)
    return result


def save(workspace_id: int, rows: list[ConversionInput], source: str) -> list[tuple[int, bool]]:
    """``insert`` in its own transaction; → (conversion id, created) per row."""
    results = insert(db.session.connection(), workspace_id, rows, source)
    db.session.commit()
    return results


def insert(
    conn: Connection, workspace_id: int, rows: list[ConversionInput], source: str
) -> list[tuple[int, bool]]:
    """Insert ``rows`` (in the caller's transaction); → (conversion id, created) per row.
    A row whose ``external_id`` exists (earlier, concurrently, or earlier in this batch) is not
    inserted again: the existing conversion's id is returned with ``created=False``."""
    if not rows:
        return []
    visitor_ids = _visitor_ids(conn, workspace_id, rows)
    now = utcnow()
    first_index: dict[str, int] = {}
    values = []
    for i, (row, visitor_id) in enumerate(zip(rows, visitor_ids, strict=True)):
        if row.external_id in first_index:
            continue
        first_index[row.external_id] = i
        values.append(
            {
                "workspace_id": workspace_id,
                "visitor_id": visitor_id,
                "event": row.event,
                "occurred_at": row.occurred_at,
                "value": row.value,
                "currency": row.currency,
                "external_id": row.external_id,
                "source": source,
                "msclkid": row.msclkid,
                "email_sha256": row.email_sha256,
                "phone_sha256": row.phone_sha256,
                "properties": dict(row.properties),
                "created_at": now,
            }
        )
    created: dict[str, int] = {}
    for chunk in _chunks(values):
        statement = (
            insert_for(conn, conversions_t)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["workspace_id", "external_id"])
            .returning(conversions_t.c.id, conversions_t.c.external_id)
        )
        created.update({ext: cid for cid, ext in conn.execute(statement)})
    existing: dict[str, int] = {}
    missing = [ext for ext in first_index if ext not in created]
    for chunk in _chunks(missing):
        existing.update(
            {
                ext: cid
                for cid, ext in conn.execute(
                    select(conversions_t.c.id, conversions_t.c.external_id).where(
                        conversions_t.c.workspace_id == workspace_id,
                        conversions_t.c.external_id.in_(chunk),
                    )
                )
            }
        )
    _remember_identities(conn, rows, visitor_ids)
    results = []
    for i, row in enumerate(rows):
        ext = row.external_id
        if ext in created and first_index[ext] == i:
            results.append((created[ext], True))
        else:
            results.append((created.get(ext) or existing[ext], False))
    return results


def _remember_identities(
    conn: Connection, rows: list[ConversionInput], visitor_ids: list[int | None]
) -> None:
    """Keep the email/phone digest on the visitor, so later API calls by email find them."""
    for column in ("email_sha256", "phone_sha256"):
        params = {
            vid: getattr(row, column)
            for row, vid in zip(rows, visitor_ids, strict=True)
            if vid is not None and getattr(row, column)
        }
        if params:
            conn.execute(
                update(visitors_t)
                .where(visitors_t.c.id == bindparam("vid"), visitors_t.c[column].is_(None))
                .values({column: bindparam("digest")}),
                [{"vid": vid, "digest": digest} for vid, digest in params.items()],
            )


# --- read --------------------------------------------------------------------------------------


def by_external_id(workspace_id: int, external_id: str) -> Conversion | None:
    return db.session.scalar(
        select(Conversion).where(
            Conversion.workspace_id == workspace_id, Conversion.external_id == external_id
        )
    )


def delivery_status(conversion: Conversion) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for provider in DELIVERY_STATUS_PROVIDERS:
        rows.extend(provider(conversion))
    return rows


def as_json(conversion: Conversion, *, with_delivery: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": conversion.id,
        "external_id": conversion.external_id,
        "event": conversion.event,
        "occurred_at": conversion.occurred_at.isoformat(),
        "value": None
        if conversion.value is None
        else f"{conversion.value:.2f}"
        if conversion.value == conversion.value.quantize(Decimal("0.01"))
        else str(conversion.value.normalize()),
        "currency": conversion.currency,
        "source": conversion.source,
        "visitor_id": conversion.visitor.uid if conversion.visitor else None,
        "msclkid": conversion.msclkid,
        "created_at": conversion.created_at.isoformat(),
    }
    if with_delivery:
        data["delivery"] = delivery_status(conversion)
    return data
