"""``skaal run``: serve the app locally, with every resource on an embedded backend.

Loads the app (:mod:`skaal.declare.app_ref`), refuses functions that would fail
on every request (:mod:`skaal.declare.checks`), takes the plan from
``skaal.lock`` as it was planned -- its catalog (``local``,
``local-servers``...), pins and servers, re-planned against that same
catalog only when the declarations changed, never swapped for another
(:mod:`skaal.serve.local_plan`); without a lock it plans against the
bundled ``local`` catalog and writes one -- opens the runtime on that plan
and serves it with uvicorn (:mod:`skaal.serve.server`): one JSON
endpoint per function at ``/fn/<name>``, docs at ``/docs``, the OpenAPI
document at ``/openapi.json``, mounted apps at their paths, schedules and
queue consumers running in the same process.

Settings read from the environment:

``SKAAL_QUEUE_RETRY_DELAY``
    seconds before the first retry of a failed queue message (default 1);
    each further retry waits twice as long, up to 300 s, until the queue's
    ``max_attempts`` sends the message to the dead letters.  Lower it while
    developing to see failures dead-lettered quickly.

Protections of the local server (:mod:`skaal.serve.hosts`,
:mod:`skaal.serve.body`): requests must name this server in ``Host``
(``--allow-host`` adds names, for a server bound to ``0.0.0.0``) and come
from its own page when they carry an ``Origin`` (``--allow-origin`` adds
origins, e.g. a front-end dev server); a function call's body must be JSON
and at most ``--max-body`` (default 1MiB).

``--env NAME`` serves environment NAME (:mod:`skaal.envs`): its lock
(planned against its catalog when there is none yet), its data folder
``.skaal/envs/<env>/data``, its port, its secrets file ``.env.<env>`` and its
``config`` variables, with ``SKAAL_ENV`` set so every name the backends use
starts with ``<app>-<env>``; two environments run side by side.

Exit codes: 0 after a clean shutdown (Ctrl+C drains consumers and closes
backends), 2 for usage and declaration errors such as a port already in use
or an unusable ``--lock``/``--data-dir``, 1 when the lock cannot be honoured.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import click

from skaal.cli.paths import (
    catalog_for,
    check_path,
    current_env,
    env_option,
    from_project,
    lock_for,
    lock_option,
    writable_dir,
)
from skaal.errors import SkaalError, UsageError

if TYPE_CHECKING:
    from skaal.envs.config import Environment

__all__ = ["check_allowed", "env_variables", "max_body_bytes", "run"]

_MAX_BODY_CEILING = 1024**3


def max_body_bytes(text: str) -> int:
    """``--max-body``: a size such as ``1MiB`` or ``500KB``, or plain bytes, as bytes."""
    from skaal.model.grammar import parse_size

    raw = text.strip()
    try:
        size = float(int(raw)) if raw.isdigit() else parse_size(raw) * 1e9
    except (SkaalError, ValueError):
        size = math.nan
    if not math.isfinite(size) or not 1 <= size <= _MAX_BODY_CEILING:
        raise UsageError(
            f"--max-body {text!r} is not a size between 1 byte and 1GiB",
            where=f"--max-body {text}",
            fix="give bytes or a size with a unit, e.g. --max-body 1MiB or --max-body 500KB",
        )
    return round(size)


def env_variables(
    env: Environment, environ: Mapping[str, str], *, dotenv: str | None = None
) -> dict[str, str]:
    """The variables the runtime of environment ``env`` gets on top of ``environ``.

    ``SKAAL_ENV`` (names: ``<app>-<env>-...``), then ``SKAAL_DOTENV`` (its
    secrets file, ``dotenv`` when the caller resolved it against the working
    directory) and its ``config`` variables unless ``environ`` sets them.
    """
    from skaal.plan.naming import ENV_VARIABLE
    from skaal.runtime.backends.env import DOTENV_ENV

    wanted = {DOTENV_ENV: dotenv or env.secrets_file, **env.config}
    extra = {name: value for name, value in wanted.items() if name not in environ}
    return {ENV_VARIABLE: env.name, **extra}


def check_allowed(hosts: tuple[str, ...], origins: tuple[str, ...]) -> None:
    """A ``UsageError`` for an ``--allow-host`` that is not a host name or an
    ``--allow-origin`` that is not ``scheme://host[:port]``."""
    for host in hosts:
        if not host.strip() or "/" in host:
            raise UsageError(
                f"--allow-host {host!r} is not a host name",
                where=f"--allow-host {host}",
                fix="give the name the Host header carries, e.g. --allow-host my-laptop.lan",
            )
    for origin in origins:
        scheme, sep, rest = origin.strip().rstrip("/").partition("://")
        if not sep or scheme not in ("http", "https") or not rest or "/" in rest:
            raise UsageError(
                f"--allow-origin {origin!r} is not an origin",
                where=f"--allow-origin {origin}",
                fix="give scheme, host and port only, e.g. --allow-origin http://localhost:5173",
            )


@click.command("run")
@click.argument("app_ref", required=False, metavar="[APP_REF]", callback=check_path)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=int,
    help="Port to listen on [default: 8000, or the environment's port].",
)
@click.option("--reload", is_flag=True, help="Restart when files in the project change.")
@click.option(
    "--data-dir",
    metavar="PATH",
    callback=check_path,
    help="Where local backends keep their files "
    "[default: .skaal/data; .skaal/envs/<env>/data in an environment].",
)
@lock_option
@env_option
@click.option(
    "--max-body",
    default="1MiB",
    show_default=True,
    metavar="SIZE",
    help="Largest JSON body of a function call (e.g. 1MiB, 500KB, or bytes); larger answers 413.",
)
@click.option(
    "--allow-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this Host name, besides localhost and --host ('*': any).",
)
@click.option(
    "--allow-origin",
    "allowed_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Also accept requests from pages of this origin, e.g. http://localhost:5173.",
)
def run(
    *,
    app_ref: str | None,
    host: str,
    port: int | None,
    reload: bool,
    data_dir: str | None,
    lock_path: str | None,
    env_name: str | None,
    max_body: str,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
) -> None:
    """Serve APP_REF locally: HTTP functions, docs, schedules and consumers.

    APP_REF is module.path:attr or path/to/file.py:attr (attribute defaults
    to "app"); without it, [tool.skaal] app in pyproject.toml is used.
    """
    try:
        from skaal.serve.bridge import retry_delay_from_env
        from skaal.serve.server import RunSettings, serve, serve_reload
    except ImportError as exc:
        raise UsageError(
            f"skaal run needs the serving packages ({exc.name} is missing)",
            fix="pip install 'skaal[serve]'",
        ) from None
    cwd = Path.cwd()
    env, project = current_env(env_name, cwd=cwd)
    lock_path = lock_for(lock_path, env, project, cwd=cwd)
    catalog_ref: str | None = None
    variables: dict[str, str] = {}
    if env is not None:
        catalog_ref, _ = catalog_for(None, None, env, project, cwd=cwd)
        port = port if port is not None else env.port
        data_dir = data_dir or from_project(project, env.data_dir, cwd=cwd)
        dotenv = from_project(project, env.secrets_file, cwd=cwd)
        variables = env_variables(env, os.environ, dotenv=dotenv)
    port = 8000 if port is None else port
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number", fix="use 1-65535, e.g. 8000")
    body_limit = max_body_bytes(max_body)
    check_allowed(allowed_hosts, allowed_origins)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    settings = RunSettings(
        app_ref=app_ref,
        cwd=str(cwd),
        host=host,
        port=port,
        data_dir=str(writable_dir((cwd / data_dir).resolve(), flag="--data-dir"))
        if data_dir
        else None,
        lock=lock_path,
        catalog=catalog_ref,
        environ=variables,
        retry_delay=retry_delay_from_env(),
        max_body=body_limit,
        allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins,
    )
    if reload:
        serve_reload(settings)
    else:
        serve(settings)
