"""Which campaign a touchpoint belongs to, for the per-campaign attribution report.

A touch whose channel is an ad platform we are connected to (the platform's key, for a landing
with one of its click ids, or a click id sent with the conversion) is matched to that platform's
pulled campaigns by the values the platform's auto-tagging and Final URL suffix write on the
landing URL: the campaign id (``utm_id``, e.g. ``{CampaignId}``), else the campaign name
(``utm_campaign``), else the ad group name (``utm_content``) when exactly one pulled ad group of
the platform has it (its campaign). The click id itself says nothing about its campaign on our
side, so a touch without any of these keeps its UTM campaign name, or "(not set)".
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
    ad_group_id: str | None = None  # the campaign's pulled ad group the landing named


def _key(name: str | None) -> str:
    return (name or "").strip().lower()


class CampaignResolver:
    """Loads a workspace's pulled campaigns and ad groups once; resolves touches from memory."""

    def __init__(self, workspace_id: int) -> None:
        rows = db.session.execute(
            select(
                Connection.platform_key,
                AdEntity.connection_id,
                AdEntity.level,
                AdEntity.entity_id,
                AdEntity.parent_id,
                AdEntity.name,
            )
            .join(Connection, Connection.id == AdEntity.connection_id)
            .where(
                Connection.workspace_id == workspace_id,
                AdEntity.level.in_(("campaign", "ad_group")),
            )
            .order_by(AdEntity.connection_id, AdEntity.level, AdEntity.entity_id)
        ).all()
        self._by_id: dict[tuple[str, str], Campaign] = {}
        self._by_name: dict[tuple[str, str], Campaign] = {}
        by_entity: dict[tuple[int, str], Campaign] = {}
        for platform_key, connection_id, level, entity_id, _, name in rows:
            if level == "campaign":
                campaign = Campaign(name or entity_id, connection_id, entity_id)
                by_entity[(connection_id, entity_id)] = campaign
                self._by_id.setdefault((platform_key, entity_id), campaign)
                self._by_name.setdefault((platform_key, _key(name)), campaign)
        groups: dict[tuple[str, str], set[Campaign]] = {}
        # (connection, campaign id, ad group name) → ad group ids with that name
        self._groups_in: dict[tuple[int, str, str], set[str]] = {}
        for platform_key, connection_id, level, entity_id, parent_id, name in rows:
            parent = by_entity.get((connection_id, parent_id or ""))
            if level == "ad_group" and parent is not None and _key(name):
                groups.setdefault((platform_key, _key(name)), set()).add(parent)
                self._groups_in.setdefault((connection_id, parent_id or "", _key(name)), set()).add(
                    entity_id
                )
        # An ad group name shared by several campaigns does not say which one.
        self._by_group = {k: next(iter(v)) for k, v in groups.items() if len(v) == 1}
        self._cache: dict[tuple[str, str, str, str], Campaign] = {}

    def resolve(
        self,
        channel: str,
        campaign: str | None,
        utm_id: str | None,
        ad_group: str | None = None,
    ) -> Campaign:
        key = (channel, campaign or "", utm_id or "", ad_group or "")
        found = self._cache.get(key)
        if found is None:
            found = self._resolve(*key)
            self._cache[key] = found
        return found

    def _resolve(self, channel: str, campaign: str, utm_id: str, ad_group: str) -> Campaign:
        found = self._campaign(channel, campaign, utm_id, ad_group)
        if found.connection_id is None or not _key(ad_group):
            return found
        ids = self._groups_in.get((found.connection_id, found.entity_id or "", _key(ad_group)))
        if not ids or len(ids) != 1:
            return found  # no such ad group in that campaign, or two of the same name
        return Campaign(found.label, found.connection_id, found.entity_id, next(iter(ids)))

    def _campaign(self, channel: str, campaign: str, utm_id: str, ad_group: str) -> Campaign:
        if utm_id and (channel, utm_id.strip()) in self._by_id:
            return self._by_id[(channel, utm_id.strip())]
        name = campaign.strip()
        if name and (channel, name.lower()) in self._by_name:
            return self._by_name[(channel, name.lower())]
        if _key(ad_group) and (channel, _key(ad_group)) in self._by_group:
            return self._by_group[(channel, _key(ad_group))]
        return Campaign(name or NOT_SET)
