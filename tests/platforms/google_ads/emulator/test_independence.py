"""The emulator runs from requirements.txt alone: the standard library, Flask and Werkzeug —
never Google's client libraries (test-only) nor anything of the plugin or the host."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[4] / "platforms" / "google_ads" / "emulator"


def test_the_emulator_imports_only_stdlib_flask_and_werkzeug():
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    third_party = {name for name in found if name not in sys.stdlib_module_names}
    assert third_party <= {"flask", "werkzeug"}, third_party
    assert (PACKAGE / "datamanager_schema.json").exists()  # shipped with the package
