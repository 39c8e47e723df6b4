"""Which campaign a touchpoint belongs to, for the per-campaign attribution report.

A touch whose channel is an ad platform we are connected to (the platform's key, for a landing
with one of its click ids) is matched to that platform's pulled campaigns: by campaign id when the
landing carried one (``utm_id``, e.g. a ``{CampaignId}`` tracking template), else by the UTM
campaign name. The click id itself says nothing about its campaign on our side (auto-tagging only
adds the click id), so a touch without either keeps its UTM campaign name, or "(not set)".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AdEntity, Connection

NOT_SET = "(not set)"


@dataclass(frozen=True, slots=True)
class Campaign:
    label: str
    connection_id: int | None = None
    entity_id: str | None = None


class CampaignResolver:
    """Loads a workspace's pulled campaigns once; resolves touches from memory (cached)."""

    def __init__(self, workspace_id: int) -> None:
        rows = db.session.execute(
            select(
                Connection.platform_key, AdEntity.connection_id, AdEntity.entity_id, AdEntity.name
            )
            .join(Connection, Connection.id == AdEntity.connection_id)
            .where(Connection.workspace_id == workspace_id, AdEntity.level == "campaign")
            .order_by(AdEntity.connection_id, AdEntity.entity_id)
        ).all()
        self._by_id: dict[tuple[str, str], Campaign] = {}
        self._by_name: dict[tuple[str, str], Campaign] = {}
        for platform_key, connection_id, entity_id, name in rows:
            campaign = Campaign(name or entity_id, connection_id, entity_id)
            self._by_id.setdefault((platform_key, entity_id), campaign)
            self._by_name.setdefault((platform_key, (name or "").strip().lower()), campaign)
        self._cache: dict[tuple[str, str, str], Campaign] = {}

    def resolve(self, channel: str, campaign: str | None, utm_id: str | None) -> Campaign:
        key = (channel, campaign or "", utm_id or "")
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(*key)
            self._cache[key] = found
        return found

    def _resolve(self, channel: str, campaign: str, utm_id: str) -> Campaign:
        if utm_id and (channel, utm_id.strip()) in self._by_id:
            return self._by_id[(channel, utm_id.strip())]
        name = campaign.strip()
        if name and (channel, name.lower()) in self._by_name:
            return self._by_name[(channel, name.lower())]
        return Campaign(name or NOT_SET)
