"""Which project files ship with the app, read once so the targets stay pure.

The app reference says what to import (``shop.app:app`` with the project
root on ``sys.path``).  What ships is the smallest self-contained unit that
import needs: the whole top-level package when the module lives in one
(every ``*.py`` file under it, ``__pycache__`` skipped), else the single
module file.  Paths are posix and relative to the project root, sorted, so
the artifact folder imports the app exactly as the project does.  Other
files (data, templates) are not shipped; an app that reads them at run time
must find them through its own configuration.
"""

from __future__ import annotations

from pathlib import Path

from skaal.builder.model import Artifact
from skaal.errors import BuildError

__all__ = ["read_app_sources", "source_paths"]


def source_paths(root: Path, module: str) -> tuple[Path, ...]:
    """The files under ``root`` that importing ``module`` needs, sorted."""
    top = module.split(".", maxsplit=1)[0]
    package = root / top
    if package.is_dir():
        files = (
            p
            for p in package.rglob("*.py")
            if "__pycache__" not in p.relative_to(root).parts and p.is_file()
        )
        found = tuple(sorted(files))
    else:
        single = root / f"{top}.py"
        found = (single,) if single.is_file() else ()
    if not found:
        raise BuildError(
            f"cannot find the source of module {module!r}",
            where=str(root),
            fix="build from the project directory, with an app reference such as app.py:app",
        )
    return found


def read_app_sources(root: Path, module: str) -> tuple[Artifact, ...]:
    """The source files of ``module`` as artifacts with project-relative paths."""
    sources = []
    for path in source_paths(root, module):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BuildError(
                f"cannot read the app source {path.name}: {exc}",
                where=str(path),
                fix="make the file readable UTF-8 text",
            ) from None
        sources.append(Artifact(path.relative_to(root).as_posix(), text))
    return tuple(sources)
