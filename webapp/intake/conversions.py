"""Conversions in: one validation for every sender (API, pixel, Stripe) and one batch insert
that is idempotent on ``external_id`` and never half-writes.

The insert is ``INSERT ... ON CONFLICT (workspace_id, external_id) DO NOTHING``, so two requests
racing with the same ``external_id`` end with one row, and the loser reports the winner's row as
existing instead of failing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from webapp.common.sql import insert_for
from webapp.extensions import db
from webapp.intake import click_ids as click_catalog
from webapp.intake import currencies, identity
from webapp.models import AdClick, Conversion, ConversionClickId, Visitor
from webapp.models.types import utcnow
from webapp.privacy import consent

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
        "click_ids",
        "email",
        "phone",
        "email_sha256",
        "phone_sha256",
        "properties",
        "consent",
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
    # Click ids the sender supplied, by declared parameter (``{"gclid": "..."}``).
    click_ids: Mapping[str, str] = field(default_factory=dict)
    email_sha256: str | None = None
    phone_sha256: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)
    # {identity rules id: {"email": digest, "phone": digest}} (webapp.intake.identity).
    identity_digests: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # Consent to ad storage and where it came from (services.consent); "unknown" from "default"
    # means the sender said nothing and the visitor's consent applies.
    consent_state: str = "unknown"
    consent_source: str = "default"


class Arrival(NamedTuple):
    """A conversion an intake path just stored, or found stored already (``created`` False: a
    replay that inserted nothing); what the real-time nudge needs to know of it."""

    event: str
    occurred_at: datetime
    created: bool


def arrivals(rows: Sequence[ConversionInput], results: Sequence[tuple[int, bool]]) -> list[Arrival]:
    """``insert``'s answer for ``rows``, one ``Arrival`` per row."""
    return [
        Arrival(row.event, row.occurred_at, created)
        for row, (_, created) in zip(rows, results, strict=True)
    ]


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
    if not isinstance(raw, str) or not currencies.is_currency(raw.upper()):
        return None, "must be an ISO 4217 currency code (for example USD or EUR)"
    return raw.upper(), None


def supplied_click_ids(
    raw: Mapping[str, Any], catalog: click_catalog.ClickIdCatalog, errors: list[FieldError]
) -> dict[str, str]:
    """``click_ids: {param: id}`` plus, for compatibility, any declared parameter given as a
    top-level field (``"gclid": "..."``, as before click ids were pairs). Each id must be
    declared by an installed plugin and match that declaration's format."""
    given: dict[str, Any] = {}
    nested = raw.get("click_ids")
    if nested is not None and not isinstance(nested, dict):
        errors.append(FieldError("click_ids", "must be an object of parameter → click id"))
    elif nested:
        given.update({f"click_ids.{k}": (k, v) for k, v in nested.items()})
    given.update({name: (name, raw[name]) for name in catalog.names if name in raw})
    found: dict[str, str] = {}
    for field_name, (param, value) in given.items():
        if value is None:
            continue
        if param not in catalog.params:
            known = ", ".join(catalog.names) or "none"
            message = f"no installed platform declares this click id (declared: {known})"
            errors.append(FieldError(field_name[:64], message))
        elif not isinstance(value, str) or not CLICK_ID.match(value.strip()):
            errors.append(FieldError(field_name, "is not a click id"))
        elif not catalog.accepts(param, value.strip()):
            errors.append(FieldError(field_name, f"is not a well-formed {param} click id"))
        elif found.get(param, value.strip()) != value.strip():
            errors.append(FieldError(field_name, "differs from the same click id given twice"))
        else:
            found[param] = value.strip()
    return found


def parse_row(
    raw: Any,
    events: Iterable[str],
    now: datetime | None = None,
    catalog: click_catalog.ClickIdCatalog | None = None,
    region: str | None = None,
) -> tuple[ConversionInput | None, list[FieldError]]:
    """Validate one API row; every invalid field gets its own error."""
    if not isinstance(raw, dict):
        return None, [FieldError("", "each conversion must be a JSON object")]
    now = now or utcnow()
    catalog = catalog if catalog is not None else click_catalog.catalog()
    errors: list[FieldError] = [
        FieldError(str(key)[:64], "unknown field")
        for key in raw
        if key not in API_FIELDS and key not in catalog.params
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
    supplied = supplied_click_ids(raw, catalog, errors)
    given = {name: _identity_field(raw, name, errors) for name in ("email", "phone")}
    digests, unusable = identity.hash_identity(
        email=given["email"][0],
        email_sha256=given["email"][1],
        phone=given["phone"][0],
        phone_sha256=given["phone"][1],
        region=region,
    )
    for name in unusable:
        errors.append(FieldError(name, IDENTITY_PROBLEMS[name]))
    identity_fields = ("visitor_id", "email", "phone", "email_sha256", "phone_sha256")
    if not supplied and not any(raw.get(name) is not None for name in identity_fields):
        errors.append(
            FieldError(
                "visitor_id", "an identity is required: visitor_id, click_ids, email or phone"
            )
        )
    given_consent, problem = consent.parse_api(raw.get("consent"))
    if problem:
        errors.append(FieldError("consent", problem))
    given_consent = given_consent or consent.DEFAULT
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
            click_ids=supplied,
            email_sha256=digests.email,
            phone_sha256=digests.phone,
            identity_digests=digests.by_rules,
            properties=json.loads(json.dumps(properties, default=str)),
            consent_state=given_consent.state,
            consent_source=given_consent.source,
        ),
        [],
    )


IDENTITY_PROBLEMS = {
    "email": "is not an email address",
    "phone": "is not a phone number: write it with its country code (for example +14155550100) "
    "or set the workspace's default phone region",
}


def _identity_field(raw: dict, name: str, errors: list) -> tuple[str | None, str | None]:
    """(clear text, pre-hashed digest) of ``name`` after checking their shape; at most one."""
    plain, digest = raw.get(name), raw.get(f"{name}_sha256")
    if plain is not None and digest is not None:
        errors.append(FieldError(name, f"give {name} or {name}_sha256, not both"))
        return None, None
    if digest is not None:
        if not isinstance(digest, str) or not identity.is_sha256(digest.lower()):
            errors.append(FieldError(f"{name}_sha256", "must be 64 hexadecimal characters"))
            return None, None
        return None, digest.lower()
    if plain is not None and (not isinstance(plain, str) or len(plain) > 254):
        errors.append(FieldError(name, IDENTITY_PROBLEMS[name]))
        return None, None
    return plain, None


# --- insert ------------------------------------------------------------------------------------

visitors_t = Visitor.__table__
conversions_t = Conversion.__table__
clicks_t = AdClick.__table__
click_pairs_t = ConversionClickId.__table__


def _chunks(items: list, size: int = 500):  # noqa: ANN202
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _visitor_ids(
    conn: Connection, workspace_id: int, rows: list[ConversionInput]
) -> list[int | None]:
    """Each row's visitor: by visitor id (created when new), else the last visitor seen with the
    same email/phone digest, else the visitor who made a supplied click, else a visitor
    keyed by the digest so that one person's conversions stay together."""
    now = utcnow()
    by_uid: dict[str, int] = {}
    by_email: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    by_click: dict[tuple[str, str], int] = {}
    emails = {r.email_sha256 for r in rows if not r.visitor_uid and r.email_sha256}
    phones = {r.phone_sha256 for r in rows if not r.visitor_uid and r.phone_sha256}
    clicks = {pair for r in rows if not r.visitor_uid for pair in r.click_ids.items()}
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
        for vid, param, click_id in conn.execute(
            select(clicks_t.c.visitor_id, clicks_t.c.click_param, clicks_t.c.click_id).where(
                clicks_t.c.workspace_id == workspace_id,
                clicks_t.c.click_id.in_([click_id for _, click_id in chunk]),
            )
        ):
            if (param, click_id) in clicks:
                by_click[(param, click_id)] = vid

    def clicked_by(r: ConversionInput) -> int | None:
        return next((by_click[p] for p in r.click_ids.items() if p in by_click), None)

    def fallback_uid(r: ConversionInput) -> str | None:
        if r.visitor_uid:
            return r.visitor_uid
        if (r.email_sha256 and r.email_sha256 in by_email) or (
            r.phone_sha256 and r.phone_sha256 in by_phone
        ):
            return None
        if clicked_by(r) is not None:
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
        elif clicked_by(r) is not None:
            result.append(clicked_by(r))
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
                "email_sha256": row.email_sha256,
                "phone_sha256": row.phone_sha256,
                "identity_digests": {k: dict(v) for k, v in row.identity_digests.items()} or None,
                "properties": dict(row.properties),
                "consent_state": row.consent_state,
                "consent_source": row.consent_source,
                "created_at": now,
            }
        )
    created: dict[str, int] = {}
    # One statement compiled once (cached), executed with many parameter sets: SQLAlchemy's
    # "insertmanyvalues" batches them into multi-row INSERT ... RETURNING on both databases.
    # (Inlining the rows with .values(chunk) would compile a new statement per chunk.)
    statement = (
        insert_for(conn, conversions_t)
        .on_conflict_do_nothing(index_elements=["workspace_id", "external_id"])
        .returning(conversions_t.c.id, conversions_t.c.external_id)
    )
    for chunk in _chunks(values):
        created.update({ext: cid for cid, ext in conn.execute(statement, chunk)})
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
    pairs = [
        {"conversion_id": created[row.external_id], "click_param": param, "click_id": click_id}
        for i, row in enumerate(rows)
        if row.external_id in created and first_index[row.external_id] == i
        for param, click_id in row.click_ids.items()
    ]
    for chunk in _chunks(pairs):
        conn.execute(insert_for(conn, click_pairs_t).on_conflict_do_nothing(), chunk)
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
    """Keep the email/phone digests on the visitor, so later API calls by email find them and the
    push finds them under each platform's rules."""
    firsts = {
        vid: {k: dict(v) for k, v in row.identity_digests.items()}
        for row, vid in zip(rows, visitor_ids, strict=True)
        if vid is not None and row.identity_digests
    }
    if firsts:
        conn.execute(
            update(visitors_t)
            .where(visitors_t.c.id == bindparam("vid"), visitors_t.c.identity_digests.is_(None))
            .values(identity_digests=bindparam("digests")),
            [{"vid": vid, "digests": digests} for vid, digests in firsts.items()],
        )
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
        "click_ids": conversion.click_ids,
        "consent": {"ad_storage": conversion.consent_state, "source": conversion.consent_source},
        "created_at": conversion.created_at.isoformat(),
    }
    # Each declared parameter also as a top-level field, as responses had before click ids
    # became pairs (null when not supplied).
    for name in click_catalog.catalog().names:
        data.setdefault(name, conversion.click_ids.get(name))
    if with_delivery:
        data["delivery"] = delivery_status(conversion)
    return data
