from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Connection, Workspace
from webapp.services.key_rotation import rotate_all

connections_cli = AppGroup("connections", help="Ad platform connections.")
tokens_cli = AppGroup("tokens", help="Stored OAuth tokens and secrets.")


@connections_cli.command("list")
@click.option("--workspace", "workspace_name", help="Only this workspace.")
def list_connections(workspace_name: str | None) -> None:
    """Print connections: id, workspace, platform, account id, name, status."""
    query = select(Connection, Workspace.name).join(Workspace).order_by(Connection.id)
    if workspace_name:
        if db.session.scalar(select(Workspace).where(Workspace.name == workspace_name)) is None:
            raise click.ClickException(f"no workspace named {workspace_name!r}")
        query = query.where(Workspace.name == workspace_name)
    rows = db.session.execute(query).all()
    if not rows:
        click.echo("no connections")
        return
    click.echo(
        f"{'ID':>5}  {'WORKSPACE':<20} {'PLATFORM':<14} {'ACCOUNT ID':<14} {'STATUS':<17} NAME"
    )
    for connection, workspace in rows:
        click.echo(
            f"{connection.id:>5}  {workspace[:20]:<20} {connection.platform_key:<14} "
            f"{connection.account_id:<14} {connection.status:<17} "
            f"{connection.account_name}"
        )


@tokens_cli.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every stored secret under the first TOKEN_ENCRYPTION_KEYS key.

    Put the new key first, keep the old ones after it, run this, then drop the old keys.
    """
    report = rotate_all()
    click.echo(f"re-encrypted {report.rotated} value(s) in {', '.join(report.columns)}")
