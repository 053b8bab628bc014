"""Private cloud emulators that a fault test freezes, kills and restarts: moto, GCP.

Each :class:`FaultyServer` is the test module's own process on a free
loopback port (never the shared CI instance): :meth:`FaultyServer.frozen`
stops it with SIGSTOP for the duration of a ``with`` block and always
resumes it; :meth:`FaultyServer.kill` ends it with SIGKILL and
:meth:`FaultyServer.start` brings it back on the same port.  Every wait is
bounded.  The emulators keep their data in memory, so a killed server
comes back empty.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import pytest

from skaal.runtime.errors import DeadlineExceededError
from tests._server import PrivateServer
from tests.runtime.faults._support import DEADLINE, SLACK, bounded

__all__ = [
    "FaultyServer",
    "FirestoreEmulator",
    "GcsEmulator",
    "Moto",
    "PubsubEmulator",
    "assert_timed_out",
    "failure",
]

_SDK_ROOTS = ("/usr/lib/google-cloud-sdk", "/usr/share/google-cloud-sdk")


class FaultyServer(PrivateServer):
    """A :class:`PrivateServer` that can also be frozen; stopped by PID at teardown."""

    def frozen(self) -> contextlib.AbstractContextManager[None]:
        """SIGSTOP for the ``with`` block; SIGCONT on the way out, whatever happens."""
        return self._frozen()

    @contextlib.contextmanager
    def _frozen(self) -> Iterator[None]:
        assert self.process is not None, f"{self.name} is not running"
        pid = self.process.pid
        os.kill(pid, signal.SIGSTOP)
        try:
            _wait_stopped(pid, self.name)
            yield
        finally:
            os.kill(pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: no shutdown at all."""
        self.stop(signal.SIGKILL)

    def close(self) -> None:
        """Resume (if frozen) and stop the process; used at teardown."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except Exception:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None


def _wait_stopped(pid: int, name: str, *, timeout: float = 5.0) -> None:
    """Wait until every thread of ``pid`` is stopped: ``kill`` only makes SIGSTOP
    pending, and a thread running on another core goes on until it next enters
    the kernel (a frozen emulator once answered a request 1.8 ms after it)."""
    deadline = time.monotonic() + timeout
    while True:
        states = set()
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                states.add(task.joinpath("stat").read_text().rpartition(")")[2].split()[0])
        if states <= {"T", "t"}:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{name} (pid {pid}) did not stop within {timeout} s: {sorted(states)}")
        time.sleep(0.001)


class Moto(FaultyServer):
    name = "moto_server"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]


class GcsEmulator(FaultyServer):
    name = "gcp-storage-emulator"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "gcp_storage_emulator",
            "start",
            "--host=127.0.0.1",
            f"--port={self.port}",
            "--in-memory",
        ]


def _sdk_file(relative: str) -> Path:
    """A file of the Google Cloud SDK's emulator packages; fails the test if absent."""
    roots = list(_SDK_ROOTS)
    gcloud = shutil.which("gcloud")
    if gcloud is not None:
        roots.append(str(Path(gcloud).resolve().parents[1]))
    for root in roots:
        found = Path(root) / relative
        if found.is_file():
            return found
    pytest.fail(
        f"{relative} not found under {roots}: install the emulator (.ci/services/40-gcp.sh)"
    )


class FirestoreEmulator(FaultyServer):
    name = "firestore-emulator"
    start_timeout = 40.0

    def command(self) -> list[str]:
        jar = _sdk_file("platform/cloud-firestore-emulator/cloud-firestore-emulator.jar")
        return [
            "java",
            "-Xmx256m",
            "-Duser.language=en",
            "-cp",
            str(jar),
            "com.google.cloud.datastore.emulator.firestore.CloudFirestore",
            "start",
            "--host=127.0.0.1",
            f"--port={self.port}",
        ]


class PubsubEmulator(FaultyServer):
    name = "pubsub-emulator"
    start_timeout = 40.0

    def command(self) -> list[str]:
        jars = sorted(
            _sdk_file("platform/pubsub-emulator/bin/cloud-pubsub-emulator")
            .parents[1]
            .glob("lib/cloud-pubsub-emulator-*.jar")
        )
        if not jars:
            pytest.fail("the Pub/Sub emulator's jar is missing (.ci/services/40-gcp.sh)")
        # java directly (not the launcher script), so the PID signalled is the server's
        return [
            "java",
            "-Xmx256m",
            "-jar",
            str(jars[-1]),
            "--host=127.0.0.1",
            f"--port={self.port}",
        ]


async def failure(call: Awaitable[object]) -> tuple[BaseException | None, float]:
    """The error ``call`` raised (``None`` if it returned) and the seconds it took (bounded)."""
    outcome = await bounded(call)
    return outcome.error, outcome.seconds


def assert_timed_out(error: object, elapsed: float, *, operation: str, resource: str) -> None:
    """A deadline error within the deadline (plus slack) naming what and where."""
    assert isinstance(error, DeadlineExceededError), error
    assert elapsed < DEADLINE + SLACK, f"took {elapsed:.1f} s"
    assert error.deadline == DEADLINE
    assert operation in error.operation
    assert resource in str(error)
    assert f"{DEADLINE:g} s" in str(error)
    assert error.fix is not None
    assert "SKAAL_CALL_DEADLINE" in error.fix
