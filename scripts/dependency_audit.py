#!/usr/bin/env python3
"""Offline dependency audit: the pinned versions in constraints.txt against a vendored advisory
snapshot (security/advisories.json), plus ``pip check``.

    python scripts/dependency_audit.py check [--strict]   offline; what CI runs
    python scripts/dependency_audit.py refresh            online; a maintainer runs it

CI machines reach package registries only, never a vulnerability database, so the advisories
travel with the repository. ``refresh`` asks the OSV database (https://osv.dev, which aggregates
the PyPI advisory database and GitHub security advisories) for every advisory of every pinned
package - all versions, so a later pin bump is judged too - and rewrites the snapshot with its
date. ``check`` needs no network: it fails when a pinned version falls in an advisory's affected
ranges, and reports pins the snapshot does not cover and the snapshot's age. ``--strict`` (for
releases) also fails on those.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = ROOT / "constraints.txt"
SNAPSHOT = ROOT / "security" / "advisories.json"
OSV_API = os.environ.get("OSV_API_URL", "https://api.osv.dev/v1")
STALE_DAYS = 30
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str
    summary: str
    fixed: tuple[str, ...]

    def __str__(self) -> str:
        fix = f"fixed in {', '.join(self.fixed)}" if self.fixed else "no fixed version listed"
        return f"{self.package}=={self.version}: {self.advisory} ({fix}) {self.summary}"


def read_pins(path: Path = CONSTRAINTS) -> dict[str, str]:
    """``{canonical name: version}`` of every ``name==version`` line."""
    pins = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _parse(version: str) -> Version | None:
    try:
        return Version(version)
    except InvalidVersion:
        return None


def is_affected(version: str, affected: dict) -> bool:
    """OSV ``affected`` entry semantics: an explicit ``versions`` list, or ECOSYSTEM ranges of
    ``introduced`` / ``fixed`` / ``last_affected`` events."""
    if version in affected.get("versions", []):
        return True
    current = _parse(version)
    if current is None:
        return False
    for range_ in affected.get("ranges", []):
        if range_.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        inside = False
        events = sorted(
            range_.get("events", []),
            key=lambda e: _parse(next(iter(e.values()))) or Version("0"),
        )
        for event in events:
            (kind, raw), *_ = event.items()
            point = Version("0") if raw == "0" else _parse(raw)
            if point is None:
                continue
            if kind == "introduced" and current >= point:
                inside = True
            elif (kind == "fixed" and current >= point) or (
                kind == "last_affected" and current > point
            ):
                inside = False
        if inside:
            return True
    return False


def _fixed_versions(affected: dict) -> tuple[str, ...]:
    return tuple(
        event["fixed"]
        for range_ in affected.get("ranges", [])
        for event in range_.get("events", [])
        if "fixed" in event
    )


def audit(pins: dict[str, str], snapshot: dict) -> tuple[list[Finding], list[str]]:
    """(findings, pins the snapshot does not cover)."""
    packages = {canonicalize_name(k): v for k, v in snapshot.get("packages", {}).items()}
    findings, uncovered = [], []
    for name, version in sorted(pins.items()):
        if name not in packages:
            uncovered.append(f"{name}=={version}")
            continue
        for advisory in packages[name]:
            for affected in advisory.get("affected", []):
                if is_affected(version, affected):
                    findings.append(
                        Finding(
                            name,
                            version,
                            advisory["id"],
                            advisory.get("summary", ""),
                            _fixed_versions(affected),
                        )
                    )
                    break
    return findings, uncovered


def snapshot_age_days(snapshot: dict, now: datetime | None = None) -> int | None:
    raw = snapshot.get("generated_at")
    if not raw:
        return None
    generated = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return ((now or datetime.now(UTC)) - generated).days


def check(
    strict: bool = False, snapshot_path: Path = SNAPSHOT, pins_path: Path = CONSTRAINTS
) -> int:
    snapshot = json.loads(snapshot_path.read_text())
    pins = read_pins(pins_path)
    findings, uncovered = audit(pins, snapshot)
    age = snapshot_age_days(snapshot)
    print(
        f"advisory snapshot: {snapshot.get('generated_at') or 'never generated'} "
        f"({'age unknown' if age is None else f'{age} days old'}), source: "
        f"{snapshot.get('source', 'unknown')}; {len(pins)} pins, "
        f"{len(pins) - len(uncovered)} covered"
    )
    if snapshot.get("note"):
        print(f"note: {snapshot['note']}")
    for finding in findings:
        print(f"VULNERABLE {finding}")
    problems = len(findings)
    if uncovered:
        print(f"{'ERROR' if strict else 'warning'}: not in the snapshot: {', '.join(uncovered)}")
        problems += strict
    if age is None or age > STALE_DAYS:
        print(
            f"{'ERROR' if strict else 'warning'}: the snapshot is missing or older than "
            f"{STALE_DAYS} days; run `python scripts/dependency_audit.py refresh` where OSV is "
            "reachable and commit security/advisories.json"
        )
        problems += strict
    if problems:
        return 1
    print("no known vulnerability in the pinned versions (as of the snapshot)")
    return 0


def pip_check() -> int:
    """Installed distributions have compatible requirements (pip's own offline check)."""
    return subprocess.call([sys.executable, "-m", "pip", "check"])


# --- refresh (online; a maintainer runs it) -----------------------------------------------------


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def refresh(snapshot_path: Path = SNAPSHOT, pins_path: Path = CONSTRAINTS) -> int:
    pins = read_pins(pins_path)
    names = sorted(pins)
    batch = _post(
        f"{OSV_API}/querybatch",
        {"queries": [{"package": {"name": n, "ecosystem": "PyPI"}} for n in names]},
    )
    packages: dict[str, list[dict]] = {}
    for name, result in zip(names, batch.get("results", []), strict=True):
        advisories = []
        for vuln in result.get("vulns", []):
            full = _get(f"{OSV_API}/vulns/{vuln['id']}")
            affected = [
                {"ranges": a.get("ranges", []), "versions": a.get("versions", [])}
                for a in full.get("affected", [])
                if canonicalize_name(a.get("package", {}).get("name", "")) == name
                and a.get("package", {}).get("ecosystem") == "PyPI"
            ]
            advisories.append(
                {
                    "id": full["id"],
                    "aliases": full.get("aliases", []),
                    "summary": (full.get("summary") or full.get("details", ""))[:300],
                    "modified": full.get("modified"),
                    "affected": affected,
                }
            )
        packages[name] = sorted(advisories, key=lambda a: a["id"])
    snapshot = {
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "source": f"OSV ({OSV_API}), PyPI ecosystem, every advisory of each pinned package",
        "complete": True,
        "packages": packages,
    }
    snapshot_path.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n")
    found = sum(len(v) for v in packages.values())
    print(f"wrote {snapshot_path.relative_to(ROOT)}: {len(packages)} packages, {found} advisories")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    check_cmd = sub.add_parser("check", help="offline: pins vs the snapshot, then pip check")
    check_cmd.add_argument("--strict", action="store_true", help="fail on stale or partial data")
    check_cmd.add_argument("--no-pip-check", action="store_true")
    sub.add_parser("refresh", help="online: rebuild security/advisories.json from OSV")
    args = parser.parse_args(argv)
    if args.command == "refresh":
        return refresh()
    status = check(strict=args.strict)
    if not args.no_pip_check:
        status = pip_check() or status
    return status


if __name__ == "__main__":
    sys.exit(main())
