"""Crash the PostgreSQL server mid-test: the client recovers, no committed write is lost.

The test makes its own cluster with the binaries .ci/services/20-postgres.sh
prepares (``SKAAL_TEST_POSTGRES_BIN``, run as ``SKAAL_TEST_POSTGRES_USER``
because initdb refuses root), with ``fsync=on``, the durability the catalog
promises.  The crash is an immediate shutdown (SIGQUIT): no checkpoint, the
server recovers from its WAL on restart, as after a power cut.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.postgres import PostgresProvider
from skaal.runtime.ports import BackendSettings

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


class PrivatePostgres:
    """A throwaway cluster on a free port, crashed and restarted on demand."""

    def __init__(self, bin_dir: Path, user: str, home: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.bin, self.home, self.data = bin_dir, home, home / "data"
        self.process: subprocess.Popen[bytes] | None = None
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            self.as_user = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}"]
            self.as_user += ["--clear-groups", "--"]
            os.chmod(home, 0o755)
            for path in (self.data, home / "run"):
                path.mkdir()
                os.chown(path, entry.pw_uid, entry.pw_gid)
        else:
            self.data.mkdir()
            (home / "run").mkdir()
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        args = [*self.as_user, str(self.bin / "postgres"), "-D", str(self.data)]
        args += ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1"]
        args += ["-c", f"unix_socket_directories={self.home / 'run'}", "-c", "fsync=on"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"postgres did not start on port {self.port}")

    def crash(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGQUIT)  # immediate shutdown: no checkpoint
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    bin_dir = os.environ.get("SKAAL_TEST_POSTGRES_BIN")
    user = os.environ.get("SKAAL_TEST_POSTGRES_USER", "")
    if not bin_dir or not (Path(bin_dir) / "postgres").exists():
        pytest.skip("SKAAL_TEST_POSTGRES_BIN not set: see .ci/services/20-postgres.sh")
    home = Path(tempfile.mkdtemp(prefix="skaal-pg-test-"))
    try:
        server = PrivatePostgres(Path(bin_dir), user, home)
        server.start()
        yield server
        server.crash()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _spec(name: str, kind: str) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )


async def test_client_recovers_and_loses_no_committed_write(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    settings = BackendSettings(
        app="failover",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={"SKAAL_POSTGRES_DSN": private_postgres.dsn},
        clock=time.time,
    )
    provider = PostgresProvider(settings)
    await provider.open()
    store = provider.key_value(_spec("M", "map"))
    queue = provider.queue(_spec("Q", "queue"))
    await store.open()
    await queue.open()
    acked: list[int] = []
    sent: list[str] = []
    stop = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            await store.set(f"k{i:05d}", str(i).encode())
            acked.append(i)
            sent.append(await queue.send(str(i).encode()))
            i += 1

    task = asyncio.create_task(writer())
    while len(acked) < 30:
        await asyncio.sleep(0.005)
    await asyncio.to_thread(private_postgres.crash)
    at_crash = len(acked)
    private_postgres.start()
    while len(acked) < at_crash + 30 and not task.done():
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, timeout=30)  # the writer never saw an error

    found = await store.get_many([f"k{i:05d}" for i in acked])
    assert found == {f"k{i:05d}": str(i).encode() for i in acked}
    received = await queue.receive(max_messages=100_000, visibility_timeout=30)
    assert {d.id for d in received} >= set(sent)
    await provider.close()
