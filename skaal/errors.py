"""Every error Skaal raises on purpose.

One root, one subclass per pipeline stage, so a caller can catch exactly the
stage it cares about and the CLI can print any of them without a traceback::

    SkaalError
    ├── UsageError            bad command line, app path or option (exit 2)
    ├── DeclarationError      a decorator or constructor got a bad value
    ├── CatalogError          a catalog file is malformed or inconsistent
    ├── PlanError             the planner cannot proceed (unknown pin, bad lock)
    │   └── UnsatisfiableError    no plan meets every constraint
    ├── BuildError            artifacts cannot be generated
    ├── DeployError           the deploy engine failed or is missing
    ├── MigrationError        ``skaal migrate`` cannot copy, verify or switch a move
    └── SkaalRuntimeError     a running app hit a backend or wiring problem

Every message answers three questions: what happened, where (a file:line, a
resource, a catalog key) and how to fix it, optionally naming the command that
helps.  Build one with keyword arguments; ``str(err)`` renders all of it.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "BuildError",
    "CatalogError",
    "DeclarationError",
    "DeployError",
    "MigrationError",
    "PlanError",
    "SkaalError",
    "SkaalRuntimeError",
    "UnsatisfiableError",
    "UsageError",
    "did_you_mean",
]


class SkaalError(Exception):
    """Root of every error Skaal raises deliberately.

    ``what`` is one sentence saying what went wrong; ``where`` locates it
    (``app.py:12``, ``catalogs/aws.toml [backends.redis] price``); ``fix``
    says what to change; ``command`` names a command that helps.
    """

    exit_code: int = 1

    def __init__(
        self,
        what: str,
        *,
        where: str | None = None,
        fix: str | None = None,
        command: str | None = None,
    ) -> None:
        self.what = what
        self.where = where
        self.fix = fix
        self.command = command
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.fix:
            lines.append(f"  fix: {self.fix}")
        if self.command:
            lines.append(f"  try: {self.command}")
        return "\n".join(lines)


class UsageError(SkaalError):
    """The command line, an option or an app path is wrong."""

    exit_code = 2


class DeclarationError(SkaalError):
    """A declaration (decorator, ``App``, ``Secret``...) received a bad value."""

    exit_code = 2


class CatalogError(SkaalError):
    """A catalog file is malformed, inconsistent or cannot be found."""

    exit_code = 2


class PlanError(SkaalError):
    """The planner cannot proceed with these inputs."""


class UnsatisfiableError(PlanError):
    """No assignment of backends meets every declared constraint.

    ``report`` carries the structured diagnosis (an
    :class:`skaal.solver.Diagnosis`) for programs that want more than text.
    """

    def __init__(
        self,
        what: str,
        *,
        report: object = None,
        where: str | None = None,
        fix: str | None = None,
        command: str | None = None,
    ) -> None:
        self.report = report
        super().__init__(what, where=where, fix=fix, command=command)


class BuildError(SkaalError):
    """Artifacts cannot be generated from this plan."""


class DeployError(SkaalError):
    """Deploying or destroying failed, or the deploy engine is missing."""


class MigrationError(SkaalError):
    """A pending move cannot be copied, verified or switched; the lock is left as it was."""


class SkaalRuntimeError(SkaalError):
    """A running application hit a wiring or backend problem."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" (did you mean 'x'?)"`` for the closest choice, or ``""``."""
    import difflib  # noqa: PLC0415 - only a mistake needs it: every command imports this module

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
