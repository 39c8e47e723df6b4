"""``flask demo seed``: the demo workspace and its Owner, the same on every run."""

from __future__ import annotations

import json
import secrets

import click
from flask import current_app
from flask.cli import AppGroup

from webapp.policy import Role
from webapp.services import accounts

demo_cli = AppGroup("demo", help="The local demo.")

DEMO_EMAIL = "owner@demo.example.com"
DEMO_WORKSPACE = "Demo Workspace"


def _credentials() -> dict[str, str]:
    """Generated once and kept in instance/, so running the demo twice keeps the same login."""
    from pathlib import Path

    path = Path(current_app.instance_path) / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text())
    creds = {"email": DEMO_EMAIL, "password": f"demo-{secrets.token_urlsafe(9)}-1"}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(creds))
    path.chmod(0o600)
    return creds


@demo_cli.command("seed")
def seed() -> None:
    """Create (or refresh) the demo workspace and print how to sign in."""
    creds = _credentials()
    accounts.bootstrap_user(creds["email"], creds["password"], DEMO_WORKSPACE, Role.OWNER)
    url = current_app.config["PUBLIC_URL"]
    click.echo("")
    click.echo("  SourceLoop demo is ready")
    click.echo(f"  Open      {url}/login")
    click.echo(f"  Email     {creds['email']}")
    click.echo(f"  Password  {creds['password']}")
    click.echo("")
