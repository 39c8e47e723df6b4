"""The layers, read from the code: every ``import`` and ``from`` at any depth (inside functions
too), parsed with ``ast``, never by running the code.

Views → capability services → models; job bodies → services; ``webapp/`` reaches ``jobs/`` only
through the enqueue side (``jobs.enqueue``, ``jobs.queues``, ``jobs.schedule``), which imports nothing of
``webapp/``; ``platforms/`` imports neither; an emulator shares no code with its client; no cycle
between any two modules; views leave transactions to services.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("webapp", "jobs", "platforms")
JOBS_LEAF = {"jobs", "jobs.enqueue", "jobs.queues", "jobs.schedule"}
# The service layer: one package per capability, plus what they all share (``webapp.common``).
CAPABILITIES = (
    "webapp.intake",
    "webapp.push",
    "webapp.insights",
    "webapp.attribution",
    "webapp.accounts",
    "webapp.connections",
    "webapp.background",
    "webapp.privacy",
    "webapp.common",
)
# Multi-touch attribution's models: pure functions, nothing of Flask, the database or the host.
PURE_ATTRIBUTION = {
    f"webapp.attribution.{name}" for name in ("allocate", "engine", "journey", "money", "weights")
}


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (dotted, as far as it names a module)
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(*packages: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(name: str, path: Path) -> Iterator[Import]:
    """Every import statement in the file, at any depth, as dotted names (relative resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(name, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                # ``from pkg import sub`` imports the submodule; ``from mod import name`` the module
                yield Import(name, f"{module}.{alias.name}", node.lineno)


def resolve(target: str, known: set[str]) -> str | None:
    """The longest known module that ``target`` names (None: outside the walked packages)."""
    while target and target not in known:
        target = target.rpartition(".")[0]
    return target or None


# ``webapp.cli.lazy`` imports each operator command by the path the table in ``webapp.cli`` gives
# (so ``flask --help`` imports none of them): the one ``import_module`` allowed in webapp/, and
# its table is read here as imports of ``webapp.cli`` so no edge is hidden from the tests below.
LAZY_IMPORTER = "webapp.cli.lazy"
LAZY_TABLE = "webapp.cli"


def lazy_command_imports(path: Path) -> Iterator[Import]:
    """Every ``CommandPath("module", ...)`` in the table, as an import of that module."""
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "CommandPath"
        ):
            module = node.args[0]
            assert isinstance(module, ast.Constant) and isinstance(module.value, str)
            yield Import(LAZY_TABLE, module.value, node.lineno)


def imports_with_table(name: str, path: Path) -> Iterator[Import]:
    yield from imports_of(name, path)
    if name == LAZY_TABLE:
        yield from lazy_command_imports(path)


def graph(modules: dict[str, Path]) -> tuple[dict[str, set[str]], list[Import]]:
    known = set(modules)
    edges: dict[str, set[str]] = {name: set() for name in modules}
    all_imports: list[Import] = []
    for name, path in modules.items():
        for imp in imports_with_table(name, path):
            all_imports.append(imp)
            target = resolve(imp.target, known)
            if target is not None and target != name:
                edges[name].add(target)
    return edges, all_imports


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


MODULES = modules_under(*PACKAGES)
EDGES, IMPORTS = graph(MODULES)


def _in(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_walk_sees_imports_inside_functions() -> None:
    source = ROOT / "tests" / "test_layers.py"
    tree_targets = {imp.target for imp in imports_of("tests.test_layers", source)}
    assert "webapp.push.send" in tree_targets  # imported inside the function below
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _nested_import_for_the_walk_test() -> None:
    import webapp.push.send  # noqa: F401


def test_no_import_cycle_between_modules() -> None:
    assert cycles(EDGES) == []


def test_every_webapp_module_has_a_place() -> None:
    """The service layer is grouped by capability: no flat ``services/`` folder comes back, and
    every module of ``webapp/`` sits in a capability, the views, the models, the commands, or is
    one of the app's own top-level modules."""
    places = (*CAPABILITIES, "webapp.views", "webapp.models", "webapp.cli")
    top_level = {name for name in MODULES if name.count(".") == 1 and name.startswith("webapp.")}
    homeless = [
        name
        for name in MODULES
        if _in(name, "webapp")
        and name != "webapp"
        and name not in top_level
        and not _in(name, *places)
    ]
    assert homeless == []
    assert {c for c in CAPABILITIES if c in MODULES} == set(CAPABILITIES)
    assert set(MODULES) >= PURE_ATTRIBUTION
    assert not (ROOT / "webapp" / "services").exists()
    assert not (ROOT / "webapp" / "multitouch").exists()


def test_the_lazy_command_table_is_read_as_imports() -> None:
    table = {imp.target for imp in IMPORTS if imp.source == LAZY_TABLE}
    assert {"webapp.cli.users", "webapp.cli.jobs", "webapp.cli.db"} <= table
    assert {"webapp.cli.users", "webapp.cli.jobs", "webapp.cli.db"} <= EDGES[LAZY_TABLE]


def test_no_hooks_named_by_strings_in_webapp_and_jobs() -> None:
    """``importlib.import_module`` would hide an edge from this test (the registry, which loads
    third-party plugins by their entry points, is the one place in ``platforms/`` allowed; in
    webapp/ only the lazy command loader, whose table the walk reads)."""
    hidden = []
    for name, path in MODULES.items():
        if not _in(name, "webapp", "jobs") or name == LAZY_IMPORTER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "import_module":
                hidden.append(f"{name}:{node.lineno}")
            if isinstance(node, ast.Name) and node.id in ("import_module", "__import__"):
                hidden.append(f"{name}:{node.lineno}")
    assert hidden == []


def _violations(rule: str, source_pred, target_pred) -> list[str]:
    return [
        f"{rule}: {imp.source}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if source_pred(imp.source) and target_pred(imp.target)
    ]


def test_layers() -> None:
    def is_emulator(module: str) -> bool:
        return ".emulator" in module

    violations = [
        *_violations(
            "platforms imports nothing of the host or Flask",
            lambda s: _in(s, "platforms") and not is_emulator(s),
            lambda t: _in(t, "webapp", "jobs", "flask", "flask_login", "flask_sqlalchemy"),
        ),
        *_violations(
            "webapp reaches jobs only through the enqueue side",
            lambda s: _in(s, "webapp"),
            lambda t: _in(t, "jobs") and resolve(t, set(MODULES)) not in JOBS_LEAF,
        ),
        *_violations(
            "the enqueue side of jobs imports nothing of webapp or the job bodies",
            lambda s: s in JOBS_LEAF,
            lambda t: (
                _in(t, "webapp") or (_in(t, "jobs") and resolve(t, set(MODULES)) not in JOBS_LEAF)
            ),
        ),
        *_violations(
            "models import no services, views, commands or jobs",
            lambda s: _in(s, "webapp.models"),
            lambda t: _in(t, *CAPABILITIES, "webapp.views", "webapp.cli", "jobs"),
        ),
        *_violations(
            "services import no views and no commands",
            lambda s: _in(s, *CAPABILITIES),
            lambda t: _in(t, "webapp.views", "webapp.cli"),
        ),
        *_violations(
            "what the capabilities share imports none of them",
            lambda s: _in(s, "webapp.common"),
            lambda t: _in(t, *CAPABILITIES) and not _in(t, "webapp.common"),
        ),
        *_violations(
            "attribution models are pure functions",
            lambda s: s in PURE_ATTRIBUTION,
            lambda t: (
                _in(t, "webapp", "jobs", "platforms", "flask", "sqlalchemy")
                and resolve(t, set(MODULES)) not in PURE_ATTRIBUTION
            ),
        ),
    ]
    assert violations == []


# Scaffolding the emulators share (settings, world basics, common control routes); see below.
EMULATOR_KIT = "platforms.emulator_kit"


def emulator_packages() -> list[Path]:
    return sorted(
        path.parent
        for pattern in ("platforms/*/emulator/__init__.py", "tests/plugins/*/emulator/__init__.py")
        for path in ROOT.glob(pattern)
    )


def test_every_emulator_is_found() -> None:
    names = {module_name(p) for p in emulator_packages()}
    assert {
        "platforms.microsoft_ads.emulator",
        "platforms.google_ads.emulator",
        "tests.plugins.example_ads.emulator",
    } <= names


@pytest.mark.parametrize("package", emulator_packages(), ids=module_name)
def test_an_emulator_shares_no_code_with_its_client(package: Path) -> None:
    """It may import the standard library and third-party packages, and its own modules; nothing
    of its plugin (client, mapping, hashing ...), of ``platforms`` or of the host."""
    emulator = module_name(package)
    plugin = emulator.rpartition(".")[0]
    shared = []
    for path in sorted(package.rglob("*.py")):
        for imp in imports_of(module_name(path), path):
            if _in(imp.target, emulator, EMULATOR_KIT):
                continue
            if _in(imp.target, plugin, "platforms", "webapp", "jobs", "tests"):
                shared.append(f"{imp.source}:{imp.line} imports {imp.target}")
    assert shared == []


def test_the_emulator_kit_stands_apart_from_every_plugin() -> None:
    """The kit shares nothing with a client: it imports nothing of ``platforms`` but itself (nor
    of the host), and no plugin module (only emulators) imports it."""
    kit = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if _in(imp.source, EMULATOR_KIT)
        and _in(imp.target, "platforms", "webapp", "jobs", "tests")
        and not _in(imp.target, EMULATOR_KIT)
    ]
    users = [
        f"{imp.source}:{imp.line} imports {imp.target}"
        for imp in IMPORTS
        if _in(imp.target, EMULATOR_KIT)
        and not _in(imp.source, EMULATOR_KIT)
        and ".emulator." not in f"{imp.source}."
    ]
    assert MODULES.get(EMULATOR_KIT) is not None
    assert kit == [] and users == []


def test_views_leave_transactions_to_services() -> None:
    commits = []
    for name, path in MODULES.items():
        if not _in(name, "webapp.views"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "commit"
            ):
                commits.append(f"{name}:{node.lineno}")
    assert commits == []


def test_every_job_name_points_at_a_job_of_that_kind() -> None:
    from jobs.enqueue import JOBS

    for name, spec in JOBS.items():
        module, _, attr = spec.func.rpartition(".")
        func = getattr(importlib.import_module(module), attr)
        assert func.job_kind == name, spec.func


def test_the_schedule_names_known_jobs_on_their_queues() -> None:
    from jobs.enqueue import JOBS
    from jobs.schedule import SCHEDULE

    by_func = {spec.func: spec for spec in JOBS.values()}
    for entry in SCHEDULE:
        assert entry.func in by_func, entry.func
        assert entry.queue == by_func[entry.func].queue, entry.id
