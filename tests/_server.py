"""Start ``skaal run`` as a user does -- a subprocess on a free port -- and speak HTTP to it.

Shared by the CLI and end-to-end tests::

    with skaal_run(project, "app.py") as client:   # an httpx.Client on the server
        client.post("/fn/increment", json={"name": "a"})

The server is ready when ``/openapi.json`` answers; on exit it gets SIGINT
(the Ctrl+C path: drain consumers, close backends) and must exit 0 within
20 s.  Every wait is bounded; a server that dies early fails the test with
its output.

:func:`serve_process` is the same for any HTTP server command (built
artifacts), and :class:`PrivateServer` runs a test's own database or broker
process that a failover test crashes and restarts.
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


def copy_example(name: str, tmp_path: Path) -> Path:
    """A copy of ``examples/<name>`` under ``tmp_path`` (its data and lock stay there)."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target)
    return target


@contextlib.contextmanager
def serve_process(
    command: Sequence[str],
    *,
    cwd: Path,
    port: int,
    env: dict[str, str] | None = None,
    ready_path: str = "/openapi.json",
    start_timeout: float = 30.0,
) -> Iterator[httpx.Client]:
    """Run ``command`` (a server listening on ``port``); yield a client once ``ready_path`` is 200.

    On exit the process gets SIGINT and must exit 0 within 20 s; a process that
    dies before it is ready fails the test with its output.
    """
    process = subprocess.Popen(
        list(command),
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + start_timeout
            while True:
                if process.poll() is not None:
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"{command} exited with {process.returncode}:\n{output}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(ready_path).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    pytest.fail(f"{command} did not start within {start_timeout:.0f} s")
                time.sleep(0.1)
            yield client
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output, _ = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"{command} did not stop within 20 s of SIGINT:\n{output}")
    assert process.returncode == 0, output


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
    with serve_process(
        command, cwd=project, port=port, env=env, start_timeout=start_timeout
    ) as client:
        yield client


class PrivateServer:
    """A test's own server process on a free port, stopped by a signal and restarted on demand.

    A subclass gives ``name`` and :meth:`command`; :meth:`start` launches it
    and returns once the port accepts connections.
    """

    name = "server"
    start_timeout = 20.0

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start on port {self.port}")

    def stop(self, sig: signal.Signals) -> None:
        """Send ``sig`` and wait for the process to end (no-op when it is not running)."""
        if self.process is not None:
            self.process.send_signal(sig)
            self.process.wait(timeout=20)
            self.process = None


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
