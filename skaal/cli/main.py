"""Entry point of the ``skaal`` command.

Subcommands live in their own modules and are imported only when invoked, so
``skaal plan`` does not pay for what ``skaal catalog`` needs.  Every
:class:`~skaal.errors.SkaalError` is printed as a message (no traceback unless
``--debug``) and mapped to its exit code: 2 for usage errors, 1 for failures.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from skaal._version import __version__
from skaal.errors import SkaalError

__all__ = ["cli", "main"]

#: Subcommand name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "build": "skaal.cli.build:build",
    "catalog": "skaal.cli.catalog:catalog",
    "cost": "skaal.cli.cost:cost",
    "deploy": "skaal.cli.deploy:deploy",
    "destroy": "skaal.cli.deploy:destroy",
    "env": "skaal.cli.env:env",
    "init": "skaal.cli.init:init",
    "migrate": "skaal.cli.migrate:migrate",
    "plan": "skaal.cli.plan:plan",
    "run": "skaal.cli.run:run",
}


class _LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SkaalError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            _report(exc)
            ctx.exit(exc.exit_code)


def _report(exc: SkaalError) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    kind = type(exc).__name__
    console.print(f"[bold red]error[/] [dim]({kind})[/] {escape(exc.render())}")


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="skaal")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Skaal: infrastructure as constraints.

    Declare what your app's state and compute need; Skaal plans the cheapest
    backends that meet every constraint, builds the artifacts and deploys them.
    """


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(standalone_mode=True))
