"""``flask privacy erase|export --workspace NAME --email ...``: a person's data request, for an
operator answering it outside the app (the same service as the API and Setup → Privacy)."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.common.errors import ServiceError
from webapp.extensions import db
from webapp.models import Workspace
from webapp.privacy import data_requests as privacy

privacy_cli = AppGroup("privacy", help="Erase or export a person's data.")


def _selector(func):  # noqa: ANN001, ANN202
    for name in reversed(privacy.SELECTORS):
        func = click.option(f"--{name.replace('_', '-')}", name, default=None)(func)
    return click.option("--workspace", "workspace_name", required=True)(func)


def _run(operation, workspace_name: str, given: dict[str, str | None]):  # noqa: ANN001, ANN202
    workspace_id = db.session.scalar(select(Workspace.id).where(Workspace.name == workspace_name))
    if workspace_id is None:
        raise click.ClickException(f"No workspace named {workspace_name!r}.")
    try:
        name, value = privacy.parse_selector({k: v for k, v in given.items() if v is not None})
        return operation(workspace_id, name, value)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc


@privacy_cli.command("erase")
@_selector
@click.option("--retract", is_flag=True, help="Ask the platforms to retract sent conversions.")
def erase(workspace_name: str, retract: bool, **given: str | None) -> None:
    """Delete everything held about the person; prints what was deleted, by kind."""

    def operation(workspace_id: int, name: str, value: str) -> privacy.Erasure:
        return privacy.erase(workspace_id, name, value, retract=retract)

    result = _run(operation, workspace_name, given)
    click.echo(json.dumps(result.counts, sort_keys=True))


@privacy_cli.command("export")
@_selector
def export(workspace_name: str, **given: str | None) -> None:
    """Print everything held about the person as JSON."""
    click.echo(json.dumps(_run(privacy.export, workspace_name, given), indent=2, sort_keys=True))
