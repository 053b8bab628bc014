"""Path arguments of the commands: refused with a ``UsageError``, never a traceback.

Every command taking a path (an app file, ``--lock``, ``--catalog``,
``--out``, ``--data-dir``) passes it through :func:`check_path` as a click
callback: a NUL character cannot be in any path, and Python's ``os``
functions raise a bare ``ValueError`` for it.  :func:`writable_dir`
creates a folder a command is about to write into, or says why it cannot.
The other problems of a path (a folder given for a file, a file used as a
folder, a folder that cannot be written) are reported where the path is
used, by the stage that knows what it should hold.

:data:`env_option` is the ``--env NAME`` of every command working on one
environment (:mod:`skaal.envs`); :func:`current_env` resolves it (``--env``,
else ``SKAAL_ENV``, else ``[tool.skaal] env``) and :func:`lock_for` picks the
lock: ``--lock`` when given, else the environment's, else ``skaal.lock``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from skaal.errors import UsageError

if TYPE_CHECKING:
    from skaal.envs.config import Environment, Project

__all__ = [
    "DEFAULT_LOCK",
    "catalog_for",
    "check_path",
    "current_env",
    "env_option",
    "from_project",
    "lock_for",
    "lock_option",
    "writable_dir",
]

DEFAULT_LOCK = "skaal.lock"


def check_path(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A click callback: ``value`` unchanged, or a ``UsageError`` if no file can have it."""
    if value is not None and "\0" in value:
        flag = param.opts[0] if param.param_type_name == "option" else (param.name or "").upper()
        raise UsageError(
            f"{value!r} contains a NUL character, which no path can hold",
            where=flag,
            fix=f"pass {flag} a path without it",
        )
    return value


def writable_dir(path: Path, *, flag: str) -> Path:
    """``path`` as a folder, created if missing; a ``UsageError`` if it cannot be one."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        problem = "it is a file, not a folder"
    except OSError as exc:
        problem = f"it cannot be created ({exc.strerror})"
    else:
        return path
    raise UsageError(
        f"{path} cannot be used: {problem}",
        where=flag,
        fix=f"pass {flag} a folder you can write, or a path where one can be created",
    )


#: The ``--lock PATH`` option of every command that reads or writes the lock.
lock_option = click.option(
    "--lock",
    "lock_path",
    metavar="PATH",
    callback=check_path,
    help="Lock file, relative to the working directory "
    "[default: skaal.lock; skaal.<env>.lock in an environment].",
)

#: The ``--env NAME`` option of every command working on one environment.
env_option = click.option(
    "--env",
    "env_name",
    metavar="NAME",
    help="Environment declared in [tool.skaal.envs.NAME] "
    "[default: $SKAAL_ENV, else [tool.skaal] env].",
)


def current_env(
    flag: str | None, *, cwd: Path, environ: Mapping[str, str] | None = None
) -> tuple[Environment | None, Project]:
    """The environment a command works on (``None``: none) and the project declaring it."""
    from skaal.envs.config import load_project, select_env

    project = load_project(cwd)
    env = select_env(project, flag, os.environ if environ is None else environ)
    return env, project


def from_project(project: Project, path: str, *, cwd: Path) -> str:
    """``path`` (relative to the project folder) as a path relative to ``cwd`` when inside it."""
    full = project.root / path
    try:
        return full.relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return str(full)


def lock_for(given: str | None, env: Environment | None, project: Project, *, cwd: Path) -> str:
    """The lock a command uses: ``--lock``, else the environment's, else ``skaal.lock``."""
    if given is not None:
        return given
    if env is None:
        return DEFAULT_LOCK
    return from_project(project, env.lock, cwd=cwd)


def catalog_for(
    catalog_ref: str | None,
    target: str | None,
    env: Environment | None,
    project: Project,
    *,
    cwd: Path,
) -> tuple[str | None, str | None]:
    """``(--catalog, --target)``: as given, else the environment's catalog or target."""
    if catalog_ref is not None or target is not None or env is None:
        return catalog_ref, target
    if env.catalog is None:
        return None, env.target
    from skaal.catalog.locate import is_path_ref

    if is_path_ref(env.catalog):
        return from_project(project, env.catalog, cwd=cwd), None
    return env.catalog, None
