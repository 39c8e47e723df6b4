from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.accounts import users as accounts
from webapp.common.errors import ServiceError
from webapp.policy import Role

users_cli = AppGroup("users", help="Manage users.")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--workspace", "workspace_name", required=True, help="Created when missing.")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.OWNER.value,
    show_default=True,
)
def create_user(email: str, password: str, workspace_name: str, role: str) -> None:
    """Create a user (or reset their password) with ROLE in WORKSPACE."""
    try:
        user = accounts.bootstrap_user(email, password, workspace_name, Role(role))
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{user.email} is {role} of workspace {workspace_name!r}")
