"""``flask demo seed``: the demo workspace, its Owner, its pixel and an API key — the same on
every run (what was generated once is kept in instance/demo-credentials.json, mode 0600)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Membership
from webapp.policy import Role
from webapp.services import accounts, api_keys, tracking

demo_cli = AppGroup("demo", help="The local demo.")

DEMO_EMAIL = "owner@demo.example.com"
DEMO_WORKSPACE = "Demo Workspace"
DEMO_SITE_DOMAIN = "127.0.0.1"


def _path() -> Path:
    default = Path(current_app.instance_path) / "demo-credentials.json"
    return Path(os.environ.get("DEMO_CREDENTIALS", default))


def _load() -> dict[str, str]:
    path = _path()
    return json.loads(path.read_text()) if path.exists() else {}


def _save(creds: dict[str, str]) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(creds, indent=2))
    path.chmod(0o600)


@demo_cli.command("seed")
def seed() -> None:
    """Create (or refresh) the demo workspace and print how to sign in."""
    creds = _load()
    creds.setdefault("email", DEMO_EMAIL)
    creds.setdefault("password", f"demo-{secrets.token_urlsafe(9)}-1")
    # The demo's own Owner: its password follows the credentials file.
    user, _ = accounts.bootstrap_user(
        creds["email"], creds["password"], DEMO_WORKSPACE, Role.OWNER, reset_password=True
    )
    owner = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    settings = tracking.settings_for(owner.workspace_id)
    if DEMO_SITE_DOMAIN not in (settings.allowed_domains or []):
        tracking.set_allowed_domains(owner.workspace_id, owner, DEMO_SITE_DOMAIN)
    creds["pixel_key"] = settings.public_key
    if "api_key" not in creds:
        creds["api_key"] = api_keys.create(owner.workspace_id, "Demo traffic simulator", owner)[1]
    _save(creds)
    url = current_app.config["PUBLIC_URL"]
    click.echo("")
    click.echo("  SourceLoop demo")
    click.echo(f"  Open      {url}/login")
    click.echo(f"  Email     {creds['email']}")
    click.echo(f"  Password  {creds['password']}")
    click.echo("")
