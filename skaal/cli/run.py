"""``skaal run``: serve the app locally, with every resource on an embedded backend.

Loads the app (:mod:`skaal.cli.app_ref`), plans it against the bundled
``local`` catalog (reusing and updating ``skaal.lock``), opens the runtime on
that plan and serves it with uvicorn (:mod:`skaal.serve.server`): one JSON
endpoint per function at ``/fn/<name>``, docs at ``/docs``, the OpenAPI
document at ``/openapi.json``, mounted apps at their paths, schedules and
queue consumers running in the same process.

Settings read from the environment:

``SKAAL_QUEUE_RETRY_DELAY``
    seconds before the first retry of a failed queue message (default 1);
    each further retry waits twice as long, up to 300 s, until the queue's
    ``max_attempts`` sends the message to the dead letters.  Lower it while
    developing to see failures dead-lettered quickly.

Exit codes: 0 after a clean shutdown (Ctrl+C drains consumers and closes
backends), 2 for usage errors such as a port already in use.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path

import click

from skaal.errors import UsageError

__all__ = ["RETRY_DELAY_ENV", "retry_delay_from_env", "run"]

RETRY_DELAY_ENV = "SKAAL_QUEUE_RETRY_DELAY"


def retry_delay_from_env(environ: Mapping[str, str] | None = None) -> float | None:
    """``SKAAL_QUEUE_RETRY_DELAY`` as seconds, ``None`` if unset; a ``UsageError`` if bad."""
    raw = (os.environ if environ is None else environ).get(RETRY_DELAY_ENV, "").strip()
    if not raw:
        return None
    try:
        delay = float(raw)
    except ValueError:
        delay = math.nan
    if not math.isfinite(delay) or delay < 0:
        raise UsageError(
            f"{RETRY_DELAY_ENV}={raw!r} is not a number of seconds",
            where=f"environment variable {RETRY_DELAY_ENV}",
            fix=f"set it to a delay such as {RETRY_DELAY_ENV}=0.1, or unset it",
        )
    return delay


@click.command("run")
@click.argument("app_ref", required=False, metavar="[APP_REF]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--reload", is_flag=True, help="Restart when files in the project change.")
@click.option(
    "--data-dir",
    metavar="PATH",
    help="Where local backends keep their files [default: .skaal/data].",
)
@click.option(
    "--lock",
    "lock_path",
    default="skaal.lock",
    show_default=True,
    metavar="PATH",
    help="Lock file, relative to the working directory.",
)
def run(
    *,
    app_ref: str | None,
    host: str,
    port: int,
    reload: bool,
    data_dir: str | None,
    lock_path: str,
) -> None:
    """Serve APP_REF locally: HTTP functions, docs, schedules and consumers.

    APP_REF is module.path:attr or path/to/file.py:attr (attribute defaults
    to "app"); without it, [tool.skaal] app in pyproject.toml is used.
    """
    try:
        from skaal.serve.server import RunSettings, serve, serve_reload
    except ImportError as exc:
        raise UsageError(
            f"skaal run needs the serving packages ({exc.name} is missing)",
            fix="pip install 'skaal[serve]'",
        ) from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number", fix="use 1-65535, e.g. 8000")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    cwd = Path.cwd()
    settings = RunSettings(
        app_ref=app_ref,
        cwd=str(cwd),
        host=host,
        port=port,
        data_dir=str((cwd / data_dir).resolve()) if data_dir else None,
        lock=lock_path,
        retry_delay=retry_delay_from_env(),
    )
    if reload:
        serve_reload(settings)
    else:
        serve(settings)
