"""Path arguments of the commands: refused with a ``UsageError``, never a traceback.

Every command taking a path (an app file, ``--lock``, ``--catalog``,
``--out``, ``--data-dir``) passes it through :func:`check_path` as a click
callback: a NUL character cannot be in any path, and Python's ``os``
functions raise a bare ``ValueError`` for it.  :func:`writable_dir`
creates a folder a command is about to write into, or says why it cannot.
The other problems of a path (a folder given for a file, a file used as a
folder, a folder that cannot be written) are reported where the path is
used, by the stage that knows what it should hold.
"""

from __future__ import annotations

from pathlib import Path

import click

from skaal.errors import UsageError

__all__ = ["check_path", "lock_option", "writable_dir"]


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
    default="skaal.lock",
    show_default=True,
    metavar="PATH",
    callback=check_path,
    help="Lock file, relative to the working directory.",
)
