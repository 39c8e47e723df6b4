"""A workspace's pixel settings: public key, allowed domains, conversion events, Stripe secret.

``pixel_site(key)`` is what /collect asks on every hit, so it is answered from a small in-process
cache (settings change rarely; a change is visible to every worker within ``SITE_CACHE_SECONDS``).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from webapp import policy
from webapp.common import audit
from webapp.common.errors import Conflict, Forbidden, NotFound, ServiceError
from webapp.extensions import db
from webapp.models import ConversionEvent, Membership, TrackingSettings
from webapp.policy import Action

SITE_CACHE_SECONDS = 30.0
_HOST = re.compile(
    r"^(?=.{1,253}$)(localhost|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+|\d{1,3}(\.\d{1,3}){3})$"
)
_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
REJECTION_COLUMNS = {
    "malformed": "rejected_malformed",
    "oversized": "rejected_oversized",
    "foreign_origin": "rejected_foreign_origin",
    "bot": "dropped_bots",
}


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def provision(workspace_id: int) -> TrackingSettings:
    """Give a workspace its pixel settings and built-in events (added to the session, flushed,
    not committed): called when the workspace is created, so Configure and the API see the
    events from the start. Safe to call again: only what is missing is added."""
    settings = db.session.get(TrackingSettings, workspace_id)
    if settings is None:
        settings = TrackingSettings(workspace_id=workspace_id, public_key=new_public_key())
        db.session.add(settings)
    have = set(
        db.session.scalars(
            select(ConversionEvent.name).where(ConversionEvent.workspace_id == workspace_id)
        )
    )
    for name, label in ConversionEvent.BUILT_INS.items():
        if name not in have:
            db.session.add(
                ConversionEvent(workspace_id=workspace_id, name=name, label=label, built_in=True)
            )
    db.session.flush()
    return settings


def settings_for(workspace_id: int) -> TrackingSettings:
    """The workspace's settings (workspaces get them at creation; older rows on first use)."""
    found = db.session.get(TrackingSettings, workspace_id)
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            created = provision(workspace_id)
        db.session.commit()
        return created
    except IntegrityError:  # another request created them first
        db.session.rollback()
        return db.session.get(TrackingSettings, workspace_id)


def _require(actor: Membership, action: Action) -> None:
    if not policy.can(actor.role, action):
        raise Forbidden(policy.reason(action))


def normalise_domains(text: str) -> list[str]:
    domains: list[str] = []
    for raw in re.split(r"[\s,]+", text.strip().lower()):
        if not raw:
            continue
        host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", raw).split("/", 1)[0].split(":", 1)[0]
        host = host.removeprefix("*.").rstrip(".")
        if not _HOST.match(host):
            raise ServiceError(f"{raw!r} is not a domain name (for example shop.example.com).")
        if host not in domains:
            domains.append(host)
    if len(domains) > 50:
        raise ServiceError("At most 50 allowed domains.")
    return domains


def set_allowed_domains(workspace_id: int, actor: Membership, text: str) -> list[str]:
    _require(actor, Action.MANAGE_TRACKING)
    domains = normalise_domains(text)
    settings = settings_for(workspace_id)
    settings.allowed_domains = domains
    audit.record(
        "tracking.domains_changed",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target=", ".join(domains)[:200] or "(any)",
    )
    db.session.commit()
    forget_site(settings.public_key)
    return domains


def set_auto_track_forms(workspace_id: int, actor: Membership, enabled: bool) -> None:
    _require(actor, Action.MANAGE_TRACKING)
    settings_for(workspace_id).auto_track_forms = enabled
    db.session.commit()


def set_require_consent(workspace_id: int, actor: Membership, enabled: bool) -> None:
    """Require consent before storing: the pixel stores nothing and the push sends nothing for
    a visitor who has not granted ad storage (webapp.privacy.consent)."""
    _require(actor, Action.MANAGE_TRACKING)
    settings = settings_for(workspace_id)
    if settings.require_consent != enabled:
        settings.require_consent = enabled
        audit.record(
            "tracking.consent_required" if enabled else "tracking.consent_not_required",
            workspace_id=workspace_id,
            actor_id=actor.user_id,
        )
    db.session.commit()
    forget_site(settings.public_key)


def consent_required(workspace_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(TrackingSettings.require_consent).where(
                TrackingSettings.workspace_id == workspace_id
            )
        )
    )


def rotate_public_key(workspace_id: int, actor: Membership) -> str:
    _require(actor, Action.MANAGE_TRACKING)
    settings = settings_for(workspace_id)
    old = settings.public_key
    settings.public_key = new_public_key()
    audit.record("tracking.key_rotated", workspace_id=workspace_id, actor_id=actor.user_id)
    db.session.commit()
    forget_site(old)
    return settings.public_key


def set_phone_region(workspace_id: int, actor: Membership, region: str) -> str | None:
    """The region whose numbering plan reads phone numbers written without a country code."""
    _require(actor, Action.MANAGE_TRACKING)
    import phonenumbers  # its metadata is sizeable; only this setting needs it here

    code = (region or "").strip().upper() or None
    if code is not None and code not in phonenumbers.SUPPORTED_REGIONS:
        raise ServiceError(f"“{code[:8]}” is not a two-letter region code (for example US or GB).")
    settings = settings_for(workspace_id)
    settings.default_phone_region = code
    audit.record(
        "tracking.phone_region_set",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target=code or "(none)",
    )
    db.session.commit()
    forget_site(settings.public_key)
    return code


def set_stripe_secret(workspace_id: int, actor: Membership, secret: str | None) -> None:
    _require(actor, Action.MANAGE_TRACKING)
    secret = (secret or "").strip() or None
    if secret is not None and not re.fullmatch(r"whsec_[A-Za-z0-9+/=_-]{8,200}", secret):
        raise ServiceError("A Stripe signing secret starts with whsec_ (Stripe → Webhooks).")
    settings_for(workspace_id).stripe_signing_secret = secret
    audit.record(
        "tracking.stripe_secret_set" if secret else "tracking.stripe_secret_cleared",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
    )
    db.session.commit()


# --- conversion events -----------------------------------------------------------------------


def events(workspace_id: int) -> list[ConversionEvent]:
    settings_for(workspace_id)
    return list(
        db.session.scalars(
            select(ConversionEvent)
            .where(ConversionEvent.workspace_id == workspace_id)
            .order_by(ConversionEvent.built_in.desc(), ConversionEvent.name)
        )
    )


def event_names(workspace_id: int) -> set[str]:
    names = set(
        db.session.scalars(
            select(ConversionEvent.name).where(ConversionEvent.workspace_id == workspace_id)
        )
    )
    return names or set(ConversionEvent.BUILT_INS)


def add_event(workspace_id: int, actor: Membership, name: str, label: str = "") -> ConversionEvent:
    _require(actor, Action.MANAGE_TRACKING)
    name = name.strip().lower()
    if not _EVENT_NAME.match(name):
        raise ServiceError(
            "Event names start with a letter and use a-z, 0-9 and _ (for example trial_started)."
        )
    settings_for(workspace_id)
    if name in event_names(workspace_id):
        raise Conflict(f"The event {name} already exists.")
    event = ConversionEvent(
        workspace_id=workspace_id,
        name=name,
        label=(label.strip() or name.replace("_", " ").capitalize())[:120],
    )
    db.session.add(event)
    audit.record(
        "tracking.event_added", workspace_id=workspace_id, actor_id=actor.user_id, target=name
    )
    db.session.commit()
    forget_site(settings_for(workspace_id).public_key)
    return event


def remove_event(workspace_id: int, actor: Membership, event_id: int) -> None:
    _require(actor, Action.MANAGE_TRACKING)
    event = db.session.get(ConversionEvent, event_id)
    if event is None or event.workspace_id != workspace_id:
        raise NotFound("That event does not exist.")
    if event.built_in:
        raise ServiceError("Built-in events cannot be removed.")
    db.session.delete(event)
    audit.record(
        "tracking.event_removed",
        workspace_id=workspace_id,
        actor_id=actor.user_id,
        target=event.name,
    )
    db.session.commit()
    forget_site(settings_for(workspace_id).public_key)


# --- what /collect asks on every hit ---------------------------------------------------------


@dataclass(frozen=True)
class PixelSite:
    workspace_id: int
    public_key: str
    allowed_domains: tuple[str, ...]
    events: frozenset[str]
    phone_region: str | None = None
    require_consent: bool = False

    def allows(self, host: str) -> bool:
        if not self.allowed_domains:
            return True
        host = host.lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)


_cache: dict[str, tuple[float, PixelSite | None]] = {}
_cache_lock = threading.Lock()


def pixel_site(public_key: str) -> PixelSite | None:
    now = time.monotonic()
    hit = _cache.get(public_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = db.session.execute(
        select(
            TrackingSettings.workspace_id,
            TrackingSettings.allowed_domains,
            TrackingSettings.default_phone_region,
            TrackingSettings.require_consent,
        ).where(TrackingSettings.public_key == public_key)
    ).first()
    site = None
    if row is not None:
        site = PixelSite(
            row.workspace_id,
            public_key,
            tuple(row.allowed_domains or ()),
            frozenset(event_names(row.workspace_id)),
            row.default_phone_region,
            bool(row.require_consent),
        )
    db.session.rollback()  # end the read transaction; /collect writes on its own connection
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[public_key] = (now + SITE_CACHE_SECONDS, site)
    return site


def cached_site(public_key: str) -> PixelSite | None:
    """``pixel_site``'s answer while it is cached, without asking the database; None when it
    is not cached (or the key is unknown)."""
    found = _cache.get(public_key)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    return None


def forget_site(public_key: str) -> None:
    with _cache_lock:
        _cache.pop(public_key, None)


def count_rejection(workspace_id: int, reason: str) -> None:
    column = getattr(TrackingSettings, REJECTION_COLUMNS[reason])
    with db.engine.begin() as conn:
        conn.execute(
            update(TrackingSettings)
            .where(TrackingSettings.workspace_id == workspace_id)
            .values({column: column + 1})
        )
