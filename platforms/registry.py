"""Which platform plugins exist: an explicit list of built-ins plus the entry-point group.

Loading happens when ``load_registry`` is called (from ``create_base_app``), never at import
time, so importing ``platforms`` has no side effects. ``load_registry(deferred=True)`` goes one
step further: plugin modules are imported on the registry's first use, so a command that never
touches a platform (``flask --help``, ``flask db upgrade``) does not pay for importing them.
Production loads at start-up, so a broken plugin or a production problem stops the process
before it serves anything.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the interface module is imported with the first plugin, not before
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
    """Plugin instances by key, in registration order.

    With a ``loader``, the registry fills itself on first use (any method or ``disabled``)."""

    def __init__(self, loader: Callable[[PlatformRegistry], None] | None = None) -> None:
        self._platforms: dict[str, Platform] = {}
        self._disabled: list[str] = []
        self._loader = loader
        self._loaded = loader is None
        self._loading = False
        self._lock = threading.RLock()  # threads of one web process may race to the first use

    def load(self) -> PlatformRegistry:
        """Run the loader now if it has not run; a loader that fails runs again next time."""
        if self._loaded:
            return self
        with self._lock:
            if self._loaded or self._loading or self._loader is None:
                return self  # (_loading: the loader itself registering, on this thread)
            self._loading = True
            try:
                self._loader(self)
            except BaseException:
                self._platforms.clear()
                self._disabled.clear()
                raise
            else:
                self._loaded = True
            finally:
                self._loading = False
        return self

    @property
    def loaded(self) -> bool:
        return self._loaded

    @property
    def disabled(self) -> list[str]:
        """Keys the operator switched off that matched a known plugin (not loaded)."""
        return self.load()._disabled

    def register(self, platform: Platform) -> None:
        self.load()
        key = getattr(platform, "key", None)
        if not key or not key.replace("_", "").isalnum() or key != key.lower():
            raise RegistryError(f"platform key {key!r} must be lowercase letters, digits and _")
        if key in self._platforms:
            raise RegistryError(f"platform key {key!r} is registered twice")
        self._platforms[key] = platform

    def get(self, key: str) -> Platform | None:
        return self.load()._platforms.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self.load()._platforms

    def __iter__(self) -> Iterator[Platform]:
        return iter(list(self.load()._platforms.values()))

    def __len__(self) -> int:
        return len(self.load()._platforms)

    def keys(self) -> list[str]:
        return list(self.load()._platforms)


def _import_class(path: str) -> type[Platform]:
    from platforms.base import Platform

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
    deferred: bool = False,
) -> PlatformRegistry:
    """Instantiate every known plugin and return the registry. Each plugin gets ``settings``
    plus the ``environ`` variables whose names start with its key in capitals and ``_``
    (``EXAMPLE_ADS_URL`` for ``example_ads``), so a third-party plugin is configured from the
    environment without a change to the host.

    Plugins whose key is in ``disabled`` are skipped (and listed in ``registry.disabled``).
    ``deferred``: import and instantiate them on the registry's first use instead of now."""
    switched_off = set(disabled)
    builtins, extra = tuple(builtins), tuple(extra)

    def fill(registry: PlatformRegistry) -> None:
        for cls in _classes(builtins, extra, include_entry_points=include_entry_points):
            if getattr(cls, "key", None) in switched_off:
                registry._disabled.append(cls.key)
                continue
            prefix = f"{getattr(cls, 'key', '').upper()}_"
            own = {k: v for k, v in (environ or {}).items() if k.startswith(prefix)}
            registry.register(cls({**(settings or {}), **own}))

    registry = PlatformRegistry(loader=fill)
    return registry if deferred else registry.load()


def _classes(
    builtins: Iterable[str], extra: Iterable[type[Platform]], *, include_entry_points: bool
) -> list[type[Platform]]:
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
    return classes
