"""The collaborators of ``skaal deploy`` / ``skaal destroy``, injectable as one record.

The CLI builds a :class:`DeployServices` with the real collaborators
(:meth:`DeployServices.default`: the Pulumi engine, the terminal, the UTC
clock, ``os.environ``, the runner of the pip command that builds the aws
Lambda layer); tests pass their own through click's ``obj``, so the
commands run end to end with an in-repo fake engine and no patching.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import click
from msgspec import Struct, field

from skaal.deploy.engine import Engine
from skaal.deploy.layer import CommandRunner, run_streaming

__all__ = ["DeployServices", "utc_now"]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _pulumi_engine() -> Engine:
    from skaal.deploy.pulumi_engine import PulumiEngine  # noqa: PLC0415 - pulumi loads only when a deploy runs

    return PulumiEngine(env={"PULUMI_PYTHON_CMD": sys.executable})


def _interactive() -> bool:
    return sys.stdin.isatty()


def _ask(question: str) -> bool:
    return click.confirm(question, default=False)


class DeployServices(Struct, frozen=True):
    """Everything deploy and destroy touch outside the project folder."""

    engine: Callable[[], Engine] = _pulumi_engine
    """Makes the engine; the real one raises ``DeployError`` if pulumi is missing."""
    interactive: Callable[[], bool] = _interactive
    ask: Callable[[str], bool] = _ask
    clock: Callable[[], str] = utc_now
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    run_command: CommandRunner = run_streaming
    """Runs pip to build the aws Lambda layer (:mod:`skaal.deploy.layer`)."""

    @classmethod
    def default(cls) -> DeployServices:
        return cls()
