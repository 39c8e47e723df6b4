"""Start-up: what the ``flask`` command and a worker import, read from real processes.

``bench/startup.py`` measures the time; these tests pin the structure that makes it short, so a
module-level import that drags the web app or Alembic back in fails here, not in a benchmark."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from werkzeug.security import generate_password_hash

from jobs.enqueue import JOBS
from tests.test_layers import CAPABILITIES
from webapp.accounts.users import DUMMY_HASH
from webapp.cli import COMMANDS
from webapp.cli.lazy import LazyCommand

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("alembic", "flask_migrate", "webapp.views", *CAPABILITIES, "webapp.models", "wtforms")


def _modules_after(code: str, tmp_path: Path, redis_url: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SOURCELOOP_"))}
    env |= {
        "SOURCELOOP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path}/s.db",
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(ROOT),
    }
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _loaded(modules: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_flask_help_lists_every_command_and_imports_none_of_them(tmp_path, redis_url) -> None:
    code = (
        "import sys\n"
        "from flask.cli import main\n"
        "sys.argv = ['flask', '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    modules = _modules_after(code, tmp_path, redis_url)
    assert "webapp.core" in modules  # .flaskenv named the shared app, and it loaded
    assert _loaded(modules, *HEAVY, "webapp.cli.users", "webapp.cli.jobs") == []
    # No plugin is imported for a command that does not use one (nor its HTTP or crypto stack).
    assert _loaded(modules, "platforms.base", "platforms.microsoft_ads", "requests") == []
    assert _loaded(modules, "cryptography.fernet") == []
    assert _loaded(modules, "rq", "redis") == []  # no job runs here: the log filter needs no RQ


def test_flask_jobs_push_imports_no_oauth_library_nor_the_scheduler_nor_the_pull(
    tmp_path, redis_url
) -> None:
    code = (
        "import sys\n"
        "from flask.cli import main\n"
        "sys.argv = ['flask', 'db', 'upgrade']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    _modules_after(code, tmp_path, redis_url)  # a migrated, empty database
    code = (
        "import sys\n"
        "from flask.cli import main\n"
        "sys.argv = ['flask', 'jobs', 'push']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
    )
    modules = _modules_after(code, tmp_path, redis_url)
    assert "webapp.push.send" in modules  # the command ran
    assert _loaded(modules, "authlib", "joserfc", "rq_scheduler", "webapp.insights") == []


WEB = ("alembic", "webapp.views", "webapp.web_extensions", "flask_wtf", "wtforms")


def test_a_worker_listens_before_it_imports_any_job_body(tmp_path, redis_url) -> None:
    code = (
        "import jobs.worker\n"
        "from webapp.core import create_base_app\n"
        "from jobs.queues import redis_connection\n"
        "import os\n"
        "app = create_base_app()\n"
        "jobs.worker.SourceLoopWorker([], connection=redis_connection(os.environ['REDIS_URL']))\n"
    )
    modules = _modules_after(code, tmp_path, redis_url)
    bodies = sorted({spec.func.rpartition(".")[0] for spec in JOBS.values()})
    assert _loaded(modules, *bodies, "jobs.runtime", "platforms.base") == []
    assert _loaded(modules, *WEB) == []


def test_the_worker_preloads_every_job_body_and_the_plugins_before_its_first_job(
    tmp_path, redis_url
) -> None:
    code = (
        "import jobs.worker\n"
        "from webapp.core import create_base_app\n"
        "app = create_base_app()\n"
        "jobs.worker.preload(app)\n"
        "import jobs.runtime\n"
        "assert jobs.runtime._bound_app is app\n"
    )
    modules = _modules_after(code, tmp_path, redis_url)
    bodies = {spec.func.rpartition(".")[0] for spec in JOBS.values()}
    assert bodies <= modules
    assert "platforms.microsoft_ads.plugin" in modules
    assert _loaded(modules, *WEB) == []


def test_importing_the_extensions_loads_no_app_part(tmp_path, redis_url) -> None:
    modules = _modules_after("import webapp.extensions", tmp_path, redis_url)
    assert _loaded(modules, "webapp") == ["webapp", "webapp.extensions"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_lazy_command_resolves_to_its_command_with_the_same_help(name) -> None:
    real = LazyCommand(name, COMMANDS[name]).resolve()
    assert isinstance(real, click.Group)
    assert real.get_short_help_str() == COMMANDS[name].short_help


def test_a_lazy_command_runs_the_real_one(app) -> None:
    result = app.test_cli_runner().invoke(args=["users", "--help"])
    assert result.exit_code == 0
    assert "create" in result.output  # a subcommand: the real group answered


def test_the_login_timing_hash_uses_the_method_new_passwords_get() -> None:
    method = generate_password_hash("x").split("$", 1)[0]
    assert DUMMY_HASH.split("$", 1)[0] == method
