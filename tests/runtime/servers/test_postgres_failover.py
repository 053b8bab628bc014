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
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skaal.runtime.backends.postgres import PostgresProvider
from skaal.runtime.ports import BackendSettings
from tests._server import PrivateServer
from tests.runtime.servers._failover import WriteLoad

pytestmark = [pytest.mark.asyncio, pytest.mark.slow]


class PrivatePostgres(PrivateServer):
    """A throwaway cluster on a free port, crashed and restarted on demand."""

    name = "postgres"

    def __init__(self, bin_dir: Path, user: str, home: Path) -> None:
        super().__init__()
        self.bin, self.home, self.data = bin_dir, home, home / "data"
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

    def command(self) -> list[str]:
        args = [*self.as_user, str(self.bin / "postgres"), "-D", str(self.data)]
        args += ["-p", str(self.port), "-c", "listen_addresses=127.0.0.1"]
        args += ["-c", f"unix_socket_directories={self.home / 'run'}", "-c", "fsync=on"]
        return args

    def crash(self) -> None:
        self.stop(signal.SIGQUIT)  # immediate shutdown: no checkpoint


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
    load = WriteLoad(provider)
    await load.start()
    await load.until(30)
    await asyncio.to_thread(private_postgres.crash)
    at_crash = len(load.acked)
    private_postgres.start()
    await load.until(at_crash + 30)
    await load.stop(timeout=30)  # the writer never saw an error
    await load.assert_nothing_lost()
    await provider.close()
