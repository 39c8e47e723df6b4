"""Operator commands: ``flask users ...``, ``flask jobs ...``. Names are relied on by scripts.

Each command is named here by import path and imported only when it runs (``webapp.cli.lazy``):
``flask --help`` and every command pay only for what they use, and Alembic is imported by
``flask db`` alone. ``tests/test_layers.py`` reads this table as imports of ``webapp.cli``."""

from __future__ import annotations

from flask import Flask

from webapp.cli.lazy import CommandPath, LazyCommand

COMMANDS: dict[str, CommandPath] = {
    "apikeys": CommandPath("webapp.cli.apikeys", "apikeys_cli", "Manage workspace API keys."),
    "connections": CommandPath(
        "webapp.cli.connections", "connections_cli", "Ad platform connections."
    ),
    "db": CommandPath("webapp.cli.db", "db_cli", "Perform database migrations."),
    "demo": CommandPath("webapp.cli.demo", "demo_cli", "The local demo."),
    "jobs": CommandPath("webapp.cli.jobs", "jobs_cli", "Background jobs and their schedule."),
    "platforms": CommandPath("webapp.cli.platforms", "platforms_cli", "Ad platform plugins."),
    "privacy": CommandPath("webapp.cli.privacy", "privacy_cli", "Erase or export a person's data."),
    "tokens": CommandPath(
        "webapp.cli.connections", "tokens_cli", "Stored OAuth tokens and secrets."
    ),
    "users": CommandPath("webapp.cli.users", "users_cli", "Manage users."),
}


def register_cli(app: Flask) -> None:
    for name, path in COMMANDS.items():
        app.cli.add_command(LazyCommand(name, path))
