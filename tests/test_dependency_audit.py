"""The offline dependency audit (issue 15, item 8): pinned versions against the vendored advisory
snapshot. The advisories below are synthetic test data, not real ones."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def audit():
    spec = importlib.util.spec_from_file_location(
        "dependency_audit", ROOT / "scripts" / "dependency_audit.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["dependency_audit"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _range(*events: dict) -> dict:
    return {"ranges": [{"type": "ECOSYSTEM", "events": list(events)}]}


def test_affected_ranges_follow_osv_semantics(audit) -> None:
    fixed = _range({"introduced": "0"}, {"fixed": "2.0.1"})
    assert audit.is_affected("2.0.0", fixed) and audit.is_affected("1.0", fixed)
    assert not audit.is_affected("2.0.1", fixed) and not audit.is_affected("3.0", fixed)
    last = _range({"introduced": "1.5"}, {"last_affected": "1.7"})
    assert audit.is_affected("1.7", last) and not audit.is_affected("1.7.1", last)
    assert not audit.is_affected("1.4", last)
    two = {
        "ranges": [
            {"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.2"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "2.0"}, {"fixed": "2.3"}]},
        ]
    }
    assert audit.is_affected("2.1", two) and not audit.is_affected("1.5", two)
    assert audit.is_affected("0.9b1", {"versions": ["0.9b1"]})
    assert not audit.is_affected("not-a-version", fixed)


def test_a_vulnerable_pin_fails_the_check(audit, tmp_path: Path, capsys) -> None:
    pins = tmp_path / "constraints.txt"
    pins.write_text("# comment\nFlask==3.1.3\nWerkzeug==3.1.9 ; python_version >= '3.11'\n")
    snapshot = tmp_path / "advisories.json"
    snapshot.write_text(
        json.dumps(
            {
                "generated_at": "2026-12-01T00:00:00+00:00",
                "source": "synthetic test data",
                "packages": {
                    "flask": [
                        {
                            "id": "TEST-0001",
                            "summary": "synthetic",
                            "affected": [_range({"introduced": "3.0"}, {"fixed": "3.1.4"})],
                        }
                    ],
                    "werkzeug": [
                        {
                            "id": "TEST-0002",
                            "affected": [_range({"introduced": "0"}, {"fixed": "3.1.9"})],
                        }
                    ],
                },
            }
        )
    )
    assert audit.check(snapshot_path=snapshot, pins_path=pins) == 1
    out = capsys.readouterr().out
    assert "VULNERABLE flask==3.1.3: TEST-0001 (fixed in 3.1.4)" in out
    assert "TEST-0002" not in out  # 3.1.9 is the fixed version


def test_strict_mode_fails_on_uncovered_pins(audit, tmp_path: Path) -> None:
    pins = tmp_path / "constraints.txt"
    pins.write_text("requests==2.34.2\n")
    snapshot = tmp_path / "advisories.json"
    snapshot.write_text(json.dumps({"generated_at": "2026-12-01T00:00:00+00:00", "packages": {}}))
    assert audit.check(snapshot_path=snapshot, pins_path=pins) == 0
    assert audit.check(strict=True, snapshot_path=snapshot, pins_path=pins) == 1


def test_the_pinned_versions_pass_the_vendored_snapshot(audit, capsys) -> None:
    """The CI gate: constraints.txt against security/advisories.json, offline."""
    snapshot = json.loads((ROOT / "security" / "advisories.json").read_text())
    assert snapshot["generated_at"] and snapshot["source"]
    assert audit.read_pins()  # constraints.txt parses
    assert audit.check() == 0, capsys.readouterr().out
