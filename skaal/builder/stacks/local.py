"""The local stack model: what the local program records, as data.

:func:`skaal.builder.targets.local.local_stack` computes one
:class:`LocalStack` from the build context and the build writes it as
``infra/stack.json``; :mod:`skaal.programs.local` reads it back at deploy
time.  The local target creates no cloud resource, so the model is small:
which app and plan the stack was built for, where the shipped lock is, the
environment it was built for, and the defaults of the stack configuration
(``dataDir``, ``host``, ``port``).  The wiring itself is not in the model:
the program computes it from the shipped lock with :mod:`skaal.plan.wiring`,
the module the runtime uses, so the stack records exactly what the app reads.

Pure data: nothing here imports Pulumi.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated

from pydantic import Field, field_validator

from skaal.builder.stacks.base import StackModel

__all__ = ["LocalStack"]


class LocalStack(StackModel):
    """Everything the local program needs besides the lock it reads."""

    app: str
    plan_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    """The content hash of the lock the artifact ships; the program refuses another."""
    lock: str
    """The shipped lock, relative to the folder of ``stack.json`` (POSIX separators)."""
    env_name: str = ""
    """The environment the artifact was built for (``""``: none)."""
    config: tuple[tuple[str, str], ...] = ()
    """That environment's ``config`` variables, sorted by name."""
    data_dir: str
    """The data directory when the stack configuration sets no ``dataDir``."""
    host: str
    """The host when the stack configuration sets no ``host``."""
    port: Annotated[int, Field(ge=1, le=65535)]
    """The port when the stack configuration sets no ``port``."""

    @field_validator("lock")
    @classmethod
    def _relative(cls, value: str) -> str:
        path = PurePosixPath(value)
        if not value or path.is_absolute() or "\\" in value:
            raise ValueError(f"the lock path must be relative to infra/, not {value!r}")
        return value
