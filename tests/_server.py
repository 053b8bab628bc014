"""Start ``skaal run`` as a user does -- a subprocess on a free port -- and speak HTTP to it.

Shared by the CLI and end-to-end tests::

    with skaal_run(project, "app.py") as client:   # an httpx.Client on the server
        client.post("/fn/increment", json={"name": "a"})

The server is ready when ``/openapi.json`` answers; on exit it gets SIGINT
(the Ctrl+C path: drain consumers, close backends) and must exit 0 within
20 s.  Every wait is bounded; a server that dies early fails the test with
its output.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def backends_ready() -> bool:
    return (ROOT / "skaal" / "runtime" / "backends" / "sqlite.py").is_file()


needs_backends = pytest.mark.skipif(
    not backends_ready(), reason="the local SQLite backend is not available"
)


def copy_example(name: str, tmp_path: Path) -> Path:
    """A copy of ``examples/<name>`` under ``tmp_path`` (its data and lock stay there)."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    return target


@contextlib.contextmanager
def skaal_run(
    project: Path,
    app_ref: str,
    *,
    env: dict[str, str] | None = None,
    args: Sequence[str] = (),
    start_timeout: float = 30.0,
) -> Iterator[httpx.Client]:
    """``skaal run APP_REF --port <free> [args]`` in ``project``; yields a client on it."""
    port = free_port()
    command = [
        sys.executable,
        "-c",
        "from skaal.cli.main import main; main()",
        "run",
        app_ref,
        "--port",
        str(port),
        *args,
    ]
    process = subprocess.Popen(
        command,
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"skaal run exited with {process.returncode}:\n{output}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get("/openapi.json").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"skaal run did not start within {start_timeout:.0f} s")
                time.sleep(0.1)
            yield client
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"skaal run did not stop within 20 s of SIGINT:\n{output}")
    assert process.returncode == 0, output


def eventually(probe: Callable[[], T | None], *, timeout: float = 15.0, what: str = "") -> T:
    """Poll ``probe`` every 0.1 s until it returns something other than ``None``/``False``."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.TransportError):
            found = probe()
            if found is not None and found is not False:
                return found
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout:.0f} s waiting for {what or probe}")
        time.sleep(0.1)
