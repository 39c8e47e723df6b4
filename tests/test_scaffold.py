"""``flask platforms new`` makes a plugin that imports, registers, shows its card, and whose
contract tests say what is left to implement."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_scaffolded_plugin_registers_shows_and_lists_its_todos(
    app, redis_url, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "platforms",
        project / "platforms",
        ignore=shutil.ignore_patterns("__pycache__", "emulator"),
    )
    result = app.test_cli_runner().invoke(
        args=["platforms", "new", "acme_ads", "--display-name", "Acme Ads", "--root", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert "platforms/acme_ads/plugin.py" in result.output
    assert (
        '"platforms.acme_ads.plugin:AcmeAdsPlatform",'
        in (project / "platforms" / "registry.py").read_text()
    )
    again = app.test_cli_runner().invoke(
        args=["platforms", "new", "acme_ads", "--root", str(project)]
    )
    assert again.exit_code != 0 and "already exists" in again.output

    env = {**os.environ, "PYTHONPATH": f"{project}{os.pathsep}{ROOT}"}
    script = textwrap.dedent(f"""
        from flask_migrate import upgrade
        from webapp.cli.db import bind_migrate
        from config import load_settings
        from webapp.factory import create_app
        from webapp.policy import Role
        from webapp.services.accounts import bootstrap_user
        app = create_app(load_settings({{"SOURCELOOP_ENV": "testing",
                                         "DATABASE_URL": "sqlite:///{tmp_path}/x.db",
                                         "REDIS_URL": "{redis_url}"}}),
                         overrides={{"WTF_CSRF_ENABLED": False}})
        platform = app.extensions["platforms"].get("acme_ads")
        print("REGISTERED", type(platform).__name__, platform.display_name)
        bind_migrate(app)
        with app.app_context():
            upgrade()
            bootstrap_user("o@example.com", "Corr3ct-horse-battery", "Acme", Role.OWNER)
        client = app.test_client()
        client.post("/login", data={{"email": "o@example.com",
                                     "password": "Corr3ct-horse-battery"}})
        html = client.get("/w/1/setup/platforms").get_data(as_text=True)
        print("CARD", 'data-platform="acme_ads"' in html and "Acme Ads" in html)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "REGISTERED AcmeAdsPlatform Acme Ads" in out.stdout, out.stderr[-3000:]
    assert "CARD True" in out.stdout, out.stderr[-3000:]

    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            "--rootdir",
            str(project),
            str(project / "tests/platforms/acme_ads/test_contract.py"),
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode != 0
    for todo in (
        "TODO(acme_ads): list_accounts",
        "TODO(acme_ads): push_conversions",
        "TODO(acme_ads): pull_structure",
        "TODO(acme_ads): pull_insights",
    ):
        assert todo in tests.stdout, tests.stdout[-3000:]
