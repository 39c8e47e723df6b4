"""Which platform plugins exist: an explicit list of built-ins plus the entry-point group.

Loading happens when ``load_registry`` is called (from ``create_app`` and the worker entry),
never at import time, so importing ``platforms`` has no side effects and a broken third-party
plugin is reported at start-up with its name instead of breaking every import.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import entry_points

from platforms.base import Platform

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "sourceloop.platforms"

# "module:Class" of the platforms that ship with SourceLoop.
BUILTIN_PLATFORMS: tuple[str, ...] = (
    "platforms.microsoft_ads.plugin:MicrosoftAdsPlatform",
    "platforms.google_ads.plugin:GoogleAdsPlatform",
    # `flask platforms new` adds new plugins above this line.
)


class RegistryError(RuntimeError):
    pass


class PlatformRegistry:
    """Plugin instances by key, in registration order."""

    def __init__(self) -> None:
        self._platforms: dict[str, Platform] = {}
        # Keys the operator switched off that matched a known plugin (not loaded).
        self.disabled: list[str] = []

    def register(self, platform: Platform) -> None:
        key = getattr(platform, "key", None)
        if not key or not key.replace("_", "").isalnum() or key != key.lower():
            raise RegistryError(f"platform key {key!r} must be lowercase letters, digits and _")
        if key in self._platforms:
            raise RegistryError(f"platform key {key!r} is registered twice")
        self._platforms[key] = platform

    def get(self, key: str) -> Platform | None:
        return self._platforms.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._platforms

    def __iter__(self) -> Iterator[Platform]:
        return iter(self._platforms.values())

    def __len__(self) -> int:
        return len(self._platforms)

    def keys(self) -> list[str]:
        return list(self._platforms)


def _import_class(path: str) -> type[Platform]:
    module_name, _, attr = path.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Platform)):
        raise RegistryError(f"{path} is not a Platform subclass")
    return cls


def load_registry(
    settings: Mapping[str, str] | None = None,
    *,
    builtins: Iterable[str] = BUILTIN_PLATFORMS,
    extra: Iterable[type[Platform]] = (),
    include_entry_points: bool = True,
    disabled: Iterable[str] = (),
    environ: Mapping[str, str] | None = None,
) -> PlatformRegistry:
    """Instantiate every known plugin and return the registry. Each plugin gets ``settings``
    plus the ``environ`` variables whose names start with its key in capitals and ``_``
    (``EXAMPLE_ADS_URL`` for ``example_ads``), so a third-party plugin is configured from the
    environment without a change to the host.

    Plugins whose key is in ``disabled`` are skipped (and listed in ``registry.disabled``)."""
    switched_off = set(disabled)
    registry = PlatformRegistry()
    classes: list[type[Platform]] = [_import_class(path) for path in builtins]
    if include_entry_points:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                cls = ep.load()
            except Exception:  # a broken third-party plugin must not stop the host
                log.exception("could not load platform plugin %s", ep.name)
                continue
            if cls not in classes:
                classes.append(cls)
    classes.extend(cls for cls in extra if cls not in classes)
    for cls in classes:
        if getattr(cls, "key", None) in switched_off:
            registry.disabled.append(cls.key)
            continue
        prefix = f"{getattr(cls, 'key', '').upper()}_"
        own = {k: v for k, v in (environ or {}).items() if k.startswith(prefix)}
        registry.register(cls({**(settings or {}), **own}))
    return registry
