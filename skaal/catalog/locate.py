"""Finding catalog files: bundled names and paths.

The bundled catalogs have one source of truth, the top-level ``catalogs/``
directory of the repository.  The wheel carries a copy of it at
``skaal/_bundled/catalogs`` (``force-include`` in ``pyproject.toml``), so:

* an installed wheel finds them under ``skaal/_bundled/catalogs``, in the
  package's own directory (what ``importlib.resources.files("skaal")``
  answers for a package on the file system; that module is not imported:
  it costs every ``skaal plan`` about 5 ms);
* a source or editable checkout, which has no ``_bundled`` directory, finds
  ``catalogs/`` next to the ``skaal`` package.

A catalog reference is either a bundled name (``"aws"``) or a path to a
``.toml`` file; :func:`resolve_ref` tells them apart (anything with a path
separator or a ``.toml`` suffix, or any ``os.PathLike``, is a path) and
resolves a relative path against a base directory (the extending file's
directory for ``extends``, the working directory otherwise).
"""

from __future__ import annotations

import os
from pathlib import Path

from skaal.errors import CatalogError, did_you_mean

__all__ = ["bundled_catalogs", "bundled_dir", "is_path_ref", "resolve_ref"]


def bundled_dir() -> Path:
    """The directory holding the bundled catalog files."""
    installed = Path(__file__).parent.parent / "_bundled" / "catalogs"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent.parent / "catalogs"


def bundled_catalogs() -> dict[str, Path]:
    """Bundled catalogs by name (the file stem), sorted by name."""
    directory = bundled_dir()
    if not directory.is_dir():
        return {}
    return {p.stem: p for p in sorted(directory.glob("*.toml"), key=lambda p: p.stem)}


def is_path_ref(ref: str | os.PathLike[str]) -> bool:
    """Whether ``ref`` names a file rather than a bundled catalog."""
    if not isinstance(ref, str):
        return True
    return ref.endswith(".toml") or "/" in ref or os.sep in ref


def resolve_ref(
    ref: str | os.PathLike[str], *, base: Path | None = None, referrer: str | None = None
) -> Path:
    """The absolute file ``ref`` points to; ``CatalogError`` if there is none.

    ``referrer`` locates the reference in messages (``"mine.toml:3 extends"``).
    """
    where = referrer
    if is_path_ref(ref):
        path = Path(ref)
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        if not path.is_file():
            raise CatalogError(
                f"catalog file {os.fspath(ref)!r} does not exist (looked for {path})",
                where=where,
                fix="check the path; relative paths in 'extends' are relative to the "
                "extending file",
                command="skaal catalog list",
            )
        return path.resolve()
    bundled = bundled_catalogs()
    ref = os.fspath(ref)
    if ref not in bundled:
        known = ", ".join(bundled) or "none found"
        raise CatalogError(
            f"no bundled catalog named {ref!r}{did_you_mean(ref, bundled)}",
            where=where,
            fix=f"use one of the bundled catalogs ({known}) or a path to a .toml file",
            command="skaal catalog list",
        )
    return bundled[ref].resolve()
