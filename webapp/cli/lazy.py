"""A command named by import path, imported only when it runs (or its own ``--help`` is asked).

``flask --help`` lists every command with its one-line help; the placeholder answers that from
the table in ``webapp.cli`` without importing the command's module, so listing the commands costs
no import of the services, models or Alembic behind them. Running the command replaces the
placeholder with the real Click command (its options, arguments and subcommands)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import Any

import click


@dataclass(frozen=True)
class CommandPath:
    module: str  # imported when the command runs
    attr: str  # the click.Command in it
    short_help: str  # what ``flask --help`` shows; a test checks it against the real command


class LazyCommand(click.Command):
    def __init__(self, name: str, path: CommandPath) -> None:
        super().__init__(name, short_help=path.short_help, help=path.short_help)
        self.path = path

    def resolve(self) -> click.Command:
        command = getattr(import_module(self.path.module), self.path.attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.path.module}.{self.path.attr} is not a click command")
        return command

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # Click invokes ``sub_ctx.command``: the real command from here on.
        return self.resolve().make_context(info_name, args, parent=parent, **extra)
