"""The click-id parameters the installed plugins declare (``Platform.click_ids``): what the pixel
captures, which platform a captured id belongs to, whether an id is well formed, and which
``utm_source`` values name a platform. Nothing here knows a platform by name; it is all read from
the registry, so a new plugin's parameter is captured without a change to the host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from platforms.base import ClickIdParam, Platform
from platforms.registry import PlatformRegistry
from webapp.extensions import platform_registry


@dataclass(frozen=True)
class ClickIdCatalog:
    # Parameter name → its declaration, in registration order (the first declarer's format).
    params: Mapping[str, ClickIdParam]
    # Parameter name → the keys of the platforms that declare it.
    owners: Mapping[str, tuple[str, ...]]
    # Lower-case utm_source → the platform key it names.
    sources: Mapping[str, str]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.params)

    def channel_of(self, param: str) -> str:
        """The channel of a visit that arrived with ``param``: its (first) platform's key."""
        return self.owners[param][0]

    def accepts(self, param: str, value: str) -> bool:
        declared = self.params.get(param)
        return declared is not None and declared.accepts(value)


def build(platforms: PlatformRegistry | list[Platform]) -> ClickIdCatalog:
    params: dict[str, ClickIdParam] = {}
    owners: dict[str, tuple[str, ...]] = {}
    sources: dict[str, str] = {}
    for platform in platforms:
        for declared in platform.click_ids:
            params.setdefault(declared.name, declared)
            owners[declared.name] = (*owners.get(declared.name, ()), platform.key)
        for source in platform.traffic_sources:
            sources.setdefault(source.lower(), platform.key)
    return ClickIdCatalog(params, owners, sources)


_cache: dict[int, tuple[PlatformRegistry, ClickIdCatalog]] = {}


def catalog(registry: PlatformRegistry | None = None) -> ClickIdCatalog:
    """The catalog of the current app's registry (built once per registry: /collect is hot)."""
    registry = registry if registry is not None else platform_registry()
    cached = _cache.get(id(registry))
    if cached is None or cached[0] is not registry:
        cached = _cache[id(registry)] = (registry, build(registry))
    return cached[1]


def windows(platform: Platform) -> dict[str, timedelta]:
    """The platform's own parameters with how long after a click it takes a conversion."""
    return {declared.name: declared.window for declared in platform.click_ids}
