"""Catalog problems: one located complaint each, many raised together.

Validation collects every problem of a file before failing, so a user fixes
a catalog in one pass rather than one error per run.  A :class:`Problem` knows
its file, line, TOML table and key; :class:`CatalogValidationError` is the
:class:`~skaal.errors.CatalogError` raised with all of them (exit code 2),
keeping the structured list for ``skaal catalog validate --json``.
"""

from __future__ import annotations

import os
from pathlib import Path

from msgspec import Struct
from msgspec.structs import asdict

from skaal.errors import CatalogError

__all__ = ["CatalogValidationError", "Problem", "display_path", "format_table"]


def display_path(path: str | os.PathLike[str]) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    absolute = Path(path).absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def format_table(table: tuple[str, ...]) -> str:
    """``("backends", "redis", "price")`` → ``[backends.redis.price]`` (quoting odd keys)."""
    parts = [p if p and all(c.isalnum() or c in "_-" for c in p) else f'"{p}"' for p in table]
    return "[" + ".".join(parts) + "]" if parts else "top level"


class Problem(Struct, frozen=True):
    """One thing wrong in a catalog file."""

    file: str
    line: int | None
    table: str
    key: str
    message: str
    fix: str

    @property
    def where(self) -> str:
        place = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{place} {self.table} {self.key}".rstrip()

    def render(self) -> str:
        return f"{self.where}: {self.message}\n  fix: {self.fix}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class CatalogValidationError(CatalogError):
    """A catalog file has one or more problems, all listed."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], *, command: str) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        first = self.problems[0]
        if len(self.problems) == 1:
            super().__init__(first.message, where=first.where, fix=first.fix, command=command)
            return
        files = sorted({p.file for p in self.problems})
        listed = "\n".join(
            f"  {i}. {p.where}: {p.message}\n     fix: {p.fix}"
            for i, p in enumerate(self.problems, start=1)
        )
        super().__init__(
            f"{len(self.problems)} problems in catalog\n{listed}",
            where=", ".join(files),
            fix="correct each problem listed above",
            command=command,
        )
