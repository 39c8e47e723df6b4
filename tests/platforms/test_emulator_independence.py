"""Each emulator runs from requirements.txt alone: the standard library, Flask and Werkzeug —
never the platform's client libraries (test-only) nor anything of the plugin or the host. The one
code it shares is ``platforms.emulator_kit``, which holds to the same rule."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PLATFORMS = Path(__file__).resolve().parents[2] / "platforms"
KIT = PLATFORMS / "emulator_kit"


def imported_modules(package: Path) -> set[str]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("package", [PLATFORMS / "google_ads" / "emulator",
                                     PLATFORMS / "microsoft_ads" / "emulator", KIT],
                         ids=lambda p: p.relative_to(PLATFORMS).as_posix())  # fmt: skip
def test_an_emulator_imports_only_stdlib_flask_werkzeug_and_the_kit(package: Path) -> None:
    found = imported_modules(package)
    third_party = {
        name.split(".")[0]
        for name in found
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith("platforms.emulator_kit")
    }
    assert third_party <= {"flask", "werkzeug"}, third_party


def test_the_google_schema_ships_with_its_emulator() -> None:
    assert (PLATFORMS / "google_ads" / "emulator" / "datamanager_schema.json").exists()
