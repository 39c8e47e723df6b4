from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.accounts import api_keys
from webapp.common.errors import ServiceError

apikeys_cli = AppGroup("apikeys", help="Manage workspace API keys.")


@apikeys_cli.command("create")
@click.option("--workspace", "workspace_name", required=True)
@click.option("--name", "label", required=True, help="What the key is for, e.g. 'CRM sync'.")
def create_key(workspace_name: str, label: str) -> None:
    """Create an API key for WORKSPACE and print it (it is stored hashed: copy it now)."""
    try:
        key = api_keys.create_for_workspace_name(workspace_name, label)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(key)
