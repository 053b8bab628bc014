"""Entry point of the ``skaal`` command.

Subcommands live in their own modules and are imported only when invoked, so
``skaal plan`` does not pay for what ``skaal catalog`` needs.  Every
:class:`~skaal.errors.SkaalError` is printed as a message (no traceback unless
``--debug``) and mapped to its exit code: 2 for usage errors, 1 for failures.

The commands that only read declarations and catalogs and write files
(:data:`PLUGIN_FREE`: ``plan``, ``cost``, ``build``, ...) run with pydantic's
documented ``PYDANTIC_DISABLE_PLUGINS=__all__``.  An app's collections
hold pydantic models, and the first model built makes pydantic import
``importlib.metadata`` and scan the entry points of every installed
distribution for plugins: about 35 ms of CPU.  Pydantic plugins observe the
validation of data (tracing, logging); these commands validate no data of
the app's, so nothing is lost.  ``skaal run``, ``deploy``, ``destroy`` and ``migrate`` run
the app's own code and keep the plugins.  Whoever wants them anyway sets the
variable themselves (``PYDANTIC_DISABLE_PLUGINS=`` keeps every plugin): a
value already set is never replaced.  The variable is removed again when the
command ends, so a process that calls :func:`cli` in-process (tests) is left
as it was.

While the variable is Skaal's, pydantic's plugin loader
(``pydantic.plugin._loader``) is also stood in for, on purpose: pydantic
imports that module when it builds its first model, and the module imports
``importlib.metadata`` (with ``email``, ``zipfile``, ``csv`` and ``socket``)
at its top, about 0.025 s of every ``skaal plan``, only to find that the
variable asks for no plugins.  The stand-in's ``get_plugins`` answers what
pydantic's does under ``__all__`` (no plugins) without that import; should the
variable have changed meanwhile, it imports the real loader and asks it, and
any other name asked of it is the real loader's (so a pydantic that reads
more from that module still gets it).  It is put in place only if pydantic
has not loaded its own yet, and taken away with the variable.

These commands also run numpy's BLAS single-threaded
(``OPENBLAS_NUM_THREADS=1``, the variable OpenBLAS reads as it loads, under
the same rule: a value already set is kept, and the variable goes when the
command ends).  The planner uses numpy only element by element and HiGHS on
one thread of its own, never a matrix product; yet loading numpy starts
OpenBLAS's pool of one thread per processor, and those threads spin waiting
for work, about 0.13 s of CPU on a two-processor machine, taken from the
planner's second thread (:mod:`skaal.solver.rebound`).  A ``skaal plan`` of
the ``users`` draw of 1,000 resources on gcp used 0.45 s of CPU instead of
0.61 s (median of 15 runs each, in turn).

When one of these commands ends, :func:`main` freezes what the process holds
(:func:`gc.freeze`) just before the interpreter exits: the interpreter's last
collection then has nothing to scan, where it would otherwise walk every
object the command left (the classes and records of the app, its blueprint,
the plan), about 0.035 s of CPU at the end of a
1,000-resource ``skaal plan``.  Nothing is freed by that collection that the
exit would not free anyway; the app's own code runs in these commands only
as declarations, and the commands that run it for real (``skaal run``,
``deploy``, ``migrate``) keep the collection.  :func:`cli` called in-process
is not concerned.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import types
from collections.abc import Iterable
from typing import Any

import click

from skaal._version import __version__
from skaal.errors import SkaalError

__all__ = ["PLUGIN_FREE", "cli", "main"]

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

#: Commands run with pydantic's plugins off unless the user chose otherwise (see above).
PLUGIN_FREE: frozenset[str] = frozenset({"build", "catalog", "cost", "env", "init", "plan"})

_PLUGINS_VARIABLE = "PYDANTIC_DISABLE_PLUGINS"
_NO_PLUGINS = "__all__"
_BLAS_THREADS = "OPENBLAS_NUM_THREADS"
#: The variables the :data:`PLUGIN_FREE` commands set where the user set nothing.
_SETTINGS: dict[str, str] = {_PLUGINS_VARIABLE: _NO_PLUGINS, _BLAS_THREADS: "1"}
#: The module pydantic asks for its plugins (see the module docstring).
_PLUGIN_LOADER = "pydantic.plugin._loader"


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

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        # before the subcommand's module is imported: it may build pydantic models
        if args and args[0] in PLUGIN_FREE:
            ours = tuple(name for name in _SETTINGS if name not in os.environ)
            for name in ours:
                os.environ[name] = _SETTINGS[name]
            if _PLUGINS_VARIABLE in ours:
                sys.modules.setdefault(_PLUGIN_LOADER, _LOADER_STAND_IN)
            if ours:
                ctx.call_on_close(lambda: _restored(ours))
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SkaalError as exc:
            if ctx.find_root().params.get("debug"):
                raise
            _report(exc)
            ctx.exit(exc.exit_code)


def _restored(names: tuple[str, ...]) -> None:
    """The variables ``names`` Skaal set taken away, and the loader's stand-in with them."""
    for name in names:
        os.environ.pop(name, None)
    if _PLUGINS_VARIABLE in names and sys.modules.get(_PLUGIN_LOADER) is _LOADER_STAND_IN:
        del sys.modules[_PLUGIN_LOADER]


def _real_loader() -> types.ModuleType:
    """pydantic's own plugin loader, imported in the stand-in's place."""
    if sys.modules.get(_PLUGIN_LOADER) is _LOADER_STAND_IN:
        del sys.modules[_PLUGIN_LOADER]
    return importlib.import_module(_PLUGIN_LOADER)


def _get_plugins() -> Iterable[Any]:
    """pydantic's ``get_plugins``, without importing ``importlib.metadata`` when plugins are off."""
    if os.environ.get(_PLUGINS_VARIABLE) == _NO_PLUGINS:
        return ()
    plugins: Iterable[Any] = _real_loader().get_plugins()
    return plugins


def _loader_attribute(name: str) -> Any:
    """Any other name asked of the stand-in is the real loader's (a pydantic that reads more).

    A module's own dunder names (``__file__``, ``__path__``: what the import
    system and ``inspect`` probe any module for) are not asked of it.
    """
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    return getattr(_real_loader(), name)


_LOADER_STAND_IN = types.ModuleType(_PLUGIN_LOADER, "Stands in for pydantic's plugin loader.")
_LOADER_STAND_IN.get_plugins = _get_plugins  # type: ignore[attr-defined]
_LOADER_STAND_IN.__getattr__ = _loader_attribute  # type: ignore[method-assign]


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
    try:
        sys.exit(cli.main(standalone_mode=True))
    finally:
        if _command_name(sys.argv[1:]) in PLUGIN_FREE:
            gc.freeze()  # the process exits next: see the module docstring


def _command_name(args: list[str]) -> str | None:
    """The subcommand ``args`` name: the first that is not an option of the group.

    The group's own options (``--debug``, ``--version``, ``--help``) take no
    value, so the first word not starting with ``-`` is the subcommand.
    """
    return next((arg for arg in args if not arg.startswith("-")), None)
