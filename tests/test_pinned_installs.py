"""Every install path pins the same versions.

Three paths install SourceLoop's packages: Heroku's Python buildpack (``pip install -r
requirements.txt``, nothing else), ``scripts/setup`` and CI (``scripts/lib.sh``:
``pip install -r requirements-dev.txt -c constraints.txt``). Each file is read the way pip reads
it (``-r`` includes, ``-c`` constraints, relative to the including file), and the runtime
dependency tree of the installed environment is walked, so a transitive package that floats on
one path fails here.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\[\]-]+)==([^\s;#]+)")


def resolve(path: Path, seen: tuple[Path, ...] = ()) -> tuple[dict[str, str], dict[str, str]]:
    """(requirements, constraints) pip takes from ``pip install -r path``: name → pinned version."""
    requirements: dict[str, str] = {}
    constraints: dict[str, str] = {}
    assert path not in seen, f"include loop at {path}"
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            reqs, cons = resolve(path.parent / line.split(None, 1)[1], (*seen, path))
            requirements.update(reqs)
            constraints.update(cons)
        elif line.startswith(("-c ", "--constraint ")):
            reqs, cons = resolve(path.parent / line.split(None, 1)[1], (*seen, path))
            constraints.update(reqs)
            constraints.update(cons)
        else:
            match = PIN.match(line)
            assert match, f"{path.name}: {line!r} is not pinned with =="
            name = canonicalize_name(Requirement(match.group(1)).name)
            requirements[name] = match.group(2)
    return requirements, constraints


def lib_sh_install_args() -> list[str]:
    """The pip arguments scripts/setup and CI use (both go through ensure_python_env)."""
    text = (ROOT / "scripts" / "lib.sh").read_text()
    [line] = [ln for ln in text.splitlines() if "pip install -q -r" in ln]
    return line.split("pip install -q ", 1)[1].split()


def test_the_buildpack_path_carries_the_constraints_itself() -> None:
    requirements, constraints = resolve(ROOT / "requirements.txt")
    all_pins, _ = resolve(ROOT / "constraints.txt")
    assert constraints == all_pins  # `pip install -r requirements.txt` sees every pin
    for name, version in requirements.items():
        assert constraints.get(name) == version, f"{name}: requirements.txt and constraints differ"


def test_setup_ci_and_the_buildpack_pin_the_same_versions() -> None:
    args = lib_sh_install_args()
    assert args == ["-r", "requirements-dev.txt", "-c", "constraints.txt"]
    dev_reqs, dev_cons = resolve(ROOT / "requirements-dev.txt")
    extra, _ = resolve(ROOT / "constraints.txt")
    setup_pins = {**dev_cons, **extra}
    heroku_reqs, heroku_pins = resolve(ROOT / "requirements.txt")
    for name in heroku_reqs:  # the runtime packages, whichever path installs them
        assert heroku_pins[name] == setup_pins[name] == dev_reqs[name]
    assert heroku_pins == setup_pins
    for name, version in dev_reqs.items():
        assert setup_pins.get(name) == version, f"{name}: requirements-dev.txt and constraints"


def _runtime_closure(names: list[str]) -> dict[str, str]:
    """Every installed distribution the runtime requirements pull in (extras they ask for too)."""
    found: dict[str, str] = {}
    todo = [Requirement(n) for n in names]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue  # an optional dependency for another platform (markers decide)
        if name in found:
            continue
        found[name] = dist.version
        for raw in dist.requires or []:
            child = Requirement(raw)
            env = {"extra": ""}
            wanted_extras = req.extras
            if child.marker is not None and not (
                child.marker.evaluate(env)
                or any(child.marker.evaluate({"extra": e}) for e in wanted_extras)
            ):
                continue
            todo.append(child)
    return found


def test_every_runtime_package_in_the_tree_is_pinned_and_installed_at_its_pin() -> None:
    """A transitive dependency missing from constraints.txt would float on Heroku."""
    requirements, pins = resolve(ROOT / "requirements.txt")
    lines = [
        ln.split("==")[0]
        for ln in (ROOT / "requirements.txt").read_text().splitlines()
        if PIN.match(ln.strip())
    ]
    closure = _runtime_closure(lines)
    assert set(requirements) <= set(closure)
    unpinned = sorted(set(closure) - set(pins) - {"pip", "setuptools"})
    assert unpinned == [], f"runtime packages not pinned in constraints.txt: {unpinned}"
    drift = {n: (v, pins[n]) for n, v in closure.items() if n in pins and pins[n] != v}
    assert drift == {}, f"installed versions differ from the pins: {drift}"
