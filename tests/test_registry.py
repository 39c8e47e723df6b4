"""The plugin seam: registration, and the house rule that platforms/ depends on nothing of ours."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from platforms.base import Platform
from platforms.registry import PlatformRegistry, RegistryError, load_registry
from tests.fake_platform import FakePlatform

ROOT = Path(__file__).resolve().parents[1]


def test_registry_instantiates_plugins_with_their_settings() -> None:
    registry = load_registry(
        {"PLATFORM_FAKE_URL": "http://x"},
        builtins=(),
        extra=[FakePlatform],
        include_entry_points=False,
    )
    platform = registry.get("fake")
    assert isinstance(platform, FakePlatform)
    assert platform.oauth_spec().authorize_url == "http://x/authorize"
    assert registry.keys() == ["fake"]


def test_duplicate_and_malformed_keys_are_refused() -> None:
    registry = PlatformRegistry()
    registry.register(FakePlatform())
    with pytest.raises(RegistryError, match="twice"):
        registry.register(FakePlatform())

    class Bad(FakePlatform):
        key = "Bad Key"

    with pytest.raises(RegistryError, match="lowercase"):
        registry.register(Bad())


def test_builtins_are_import_paths_of_platform_classes() -> None:
    with pytest.raises(RegistryError, match="not a Platform"):
        load_registry({}, builtins=("tests.test_registry:ROOT",), include_entry_points=False)


def test_entry_point_plugins_are_loaded(monkeypatch) -> None:
    import platforms.registry as registry_module

    class FakeEntryPoint:
        name = "fake"

        def load(self) -> type[Platform]:
            return FakePlatform

    class Broken:
        name = "broken"

        def load(self) -> type[Platform]:
            raise ImportError("missing dependency")

    monkeypatch.setattr(registry_module, "entry_points", lambda group: [FakeEntryPoint(), Broken()])
    registry = load_registry({}, builtins=())
    assert registry.keys() == ["fake"]  # the broken one is logged and skipped


def test_app_shows_one_card_per_registered_platform(login_as, world) -> None:
    html = login_as("admin").get(f"/w/{world.workspace_id}/setup/platforms").get_data(as_text=True)
    assert 'data-platform="fake"' in html and ">Connect<" in html


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_platforms_import_nothing_from_webapp_jobs_or_flask() -> None:
    offenders = []
    for path in (ROOT / "platforms").rglob("*.py"):
        if {"emulator", "emulator_kit"} & set(path.parts):
            continue  # an emulator (and what emulators share) is a stand-in web server
        bad = _imports(path) & {"webapp", "jobs", "flask", "flask_sqlalchemy", "redis", "rq"}
        if bad:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(bad)}")
    assert not offenders


def test_emulator_shares_no_code_with_the_plugin() -> None:
    emulator = ROOT / "platforms" / "microsoft_ads" / "emulator"
    if not emulator.exists():
        pytest.skip("no emulator")
    for path in emulator.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith("platforms.emulator_kit"):
                    continue  # the emulators' shared scaffolding, which imports no plugin
                assert not node.module.startswith(("platforms", "webapp", "jobs")), path
            if isinstance(node, ast.ImportFrom) and node.level > 1:
                raise AssertionError(f"{path} reaches outside the emulator package")


def test_importing_packages_has_no_side_effects() -> None:
    import subprocess
    import sys

    code = (
        "import platforms.registry, platforms.base, jobs.schedule, jobs.fanout, webapp; "
        "import sys; assert 'platforms.microsoft_ads.plugin' not in sys.modules; "
        "from platforms.registry import BUILTIN_PLATFORMS; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "ok", out.stderr


def test_every_registered_platform_declares_what_the_host_reads() -> None:
    """Click ids, capabilities backed by methods, reason wording: for the built-ins, the fake
    platform and the example plugin (no emulator needed)."""
    from tests.platforms.contract import check_declarations
    from tests.plugins.example_ads.plugin import ExampleAdsPlatform

    registry = load_registry({}, extra=[FakePlatform, ExampleAdsPlatform])
    assert {"microsoft_ads", "fake", "example_ads"} <= set(registry.keys())
    for platform in registry:
        check_declarations(platform)


def test_a_capability_without_its_method_fails_the_declarations_check() -> None:
    from dataclasses import replace

    from tests.platforms.contract import check_declarations

    class Boasting(FakePlatform):
        capabilities = replace(FakePlatform.capabilities, diagnostics=True)

    with pytest.raises(AssertionError, match="offline_conversion_diagnostics"):
        check_declarations(Boasting())


def test_no_host_file_names_a_platform() -> None:
    """Click ids, identity rules and wording come from the plugins: outside migrations, webapp/
    and jobs/ never mention msclkid, and no host Python file names Microsoft."""
    offenders = []
    for folder in ("webapp", "jobs"):
        for path in (ROOT / folder).rglob("*"):
            if not path.is_file() or "migrations" in path.parts or path.suffix == ".pyc":
                continue
            text = path.read_text(errors="ignore").lower()
            if "msclkid" in text or (path.suffix == ".py" and "microsoft" in text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_a_deferred_registry_imports_its_plugins_on_first_use_and_retries_a_failed_load() -> None:
    calls: list[int] = []

    def flaky(registry: PlatformRegistry) -> None:
        calls.append(1)
        registry.register(FakePlatform())
        if len(calls) == 1:
            raise RegistryError("first load fails")

    registry = PlatformRegistry(loader=flaky)
    assert not registry.loaded and calls == []
    with pytest.raises(RegistryError):
        registry.keys()
    assert not registry.loaded  # nothing half-loaded is kept
    assert registry.keys() == [FakePlatform.key]
    assert registry.loaded and len(calls) == 2
    assert list(registry) == [registry.get(FakePlatform.key)]
    assert registry.disabled == [] and len(calls) == 2


def test_load_registry_deferred_waits_for_first_use() -> None:
    registry = load_registry({}, builtins=(), extra=[FakePlatform], deferred=True)
    assert not registry.loaded
    assert FakePlatform.key in registry
    assert registry.loaded


def test_threads_racing_to_a_deferred_registry_load_it_once() -> None:
    import threading
    import time

    calls: list[int] = []

    def slow(registry: PlatformRegistry) -> None:
        calls.append(1)
        time.sleep(0.05)
        registry.register(FakePlatform())

    registry = PlatformRegistry(loader=slow)
    seen: list[list[str]] = []
    threads = [threading.Thread(target=lambda: seen.append(registry.keys())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [1]
    assert seen == [[FakePlatform.key]] * 8
