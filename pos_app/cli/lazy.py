"""A click group whose commands are imported only when one runs or its own help is shown.

``pos-terminal --help`` lists the commands from their one-line summaries in the registration table,
without importing them: the window's start and a plain ``--help`` never load the payment stack, the
self-test or the setup wizard (click's "lazy loading subcommands" recipe, plus a help page that
needs no import).
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """``lazy`` maps a command's name to ``("module:attribute", "one-line summary")``, in help order."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *(name for name in super().list_commands(ctx) if name not in self.lazy)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy:
            return super().get_command(ctx, name)
        where, summary = self.lazy[name]
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a click command")
        command.short_help = command.short_help or summary
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary) for name, (_, summary) in self.lazy.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
