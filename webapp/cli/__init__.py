"""Operator commands: ``flask users ...``, ``flask jobs ...``. Names are relied on by scripts."""

from flask import Flask

from webapp.cli.apikeys import apikeys_cli
from webapp.cli.connections import connections_cli, tokens_cli
from webapp.cli.demo import demo_cli
from webapp.cli.jobs import jobs_cli
from webapp.cli.platforms import platforms_cli
from webapp.cli.privacy import privacy_cli
from webapp.cli.users import users_cli


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(apikeys_cli)
    app.cli.add_command(connections_cli)
    app.cli.add_command(tokens_cli)
    app.cli.add_command(platforms_cli)
    app.cli.add_command(privacy_cli)
