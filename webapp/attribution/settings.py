"""A workspace's attribution settings: lookback window, time-decay half-life, and the model whose
credit platforms with external attribution receive. Changing them is for Admins and Owners, audited, and makes the next
attribution run recompute every conversion (their ``settings_key`` no longer matches)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from webapp import policy
from webapp.attribution.journey import Settings
from webapp.attribution.weights import BY_KEY
from webapp.common import audit
from webapp.common.errors import Forbidden, ServiceError
from webapp.extensions import db
from webapp.models import AttributionSettings, Membership
from webapp.models.types import utcnow
from webapp.policy import Action

LOOKBACK_RANGE = (1, 365)
# v2: click ids sent with conversions are touches; credits carry the ad group.
CREDITS_VERSION = "v2"
HALF_LIFE_RANGE = (1, 90)


@dataclass(frozen=True)
class WorkspaceSettings:
    lookback_days: int
    half_life_days: int
    external_model: str

    @property
    def engine(self) -> Settings:
        return Settings(timedelta(days=self.lookback_days), timedelta(days=self.half_life_days))

    @property
    def key(self) -> str:
        """What the stored credits depend on (the external model does not change them), and the
        version of how they are computed: a new version recomputes every conversion once."""
        return f"lb{self.lookback_days}:hl{self.half_life_days}:{CREDITS_VERSION}"


DEFAULTS = WorkspaceSettings(lookback_days=90, half_life_days=7, external_model="linear")


def get(workspace_id: int) -> WorkspaceSettings:
    row = db.session.get(AttributionSettings, workspace_id)
    if row is None:
        return DEFAULTS
    return WorkspaceSettings(row.lookback_days, row.half_life_days, row.external_model)


def settings_of(workspace_id: int) -> Settings:
    return get(workspace_id).engine


def settings_key(workspace_id: int) -> str:
    return get(workspace_id).key


def _int_in(name: str, raw: object, bounds: tuple[int, int]) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ServiceError(f"{name} must be a whole number of days.") from None
    if not bounds[0] <= value <= bounds[1]:
        raise ServiceError(f"{name} must be between {bounds[0]} and {bounds[1]} days.")
    return value


def update(
    actor: Membership, *, lookback_days: object, half_life_days: object, external_model: str
) -> WorkspaceSettings:
    if not policy.can(actor.role, Action.EDIT_WORKSPACE):
        raise Forbidden("Only Admins and Owners can change attribution settings.")
    lookback = _int_in("Lookback window", lookback_days, LOOKBACK_RANGE)
    half_life = _int_in("Half-life", half_life_days, HALF_LIFE_RANGE)
    if external_model not in BY_KEY:
        raise ServiceError("Choose one of the attribution models.")
    before = get(actor.workspace_id)
    row = db.session.get(AttributionSettings, actor.workspace_id)
    if row is None:
        row = AttributionSettings(workspace_id=actor.workspace_id)
        db.session.add(row)
    row.lookback_days, row.half_life_days, row.external_model = lookback, half_life, external_model
    row.updated_at, row.updated_by_id = utcnow(), actor.user_id
    audit.record(
        "attribution.settings_changed",
        workspace_id=actor.workspace_id,
        actor_id=actor.user_id,
        target=f"lookback {lookback} d, half-life {half_life} d, external {external_model}",
        before=vars(before),
    )
    db.session.commit()
    return get(actor.workspace_id)
