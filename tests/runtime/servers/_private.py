"""Private servers a test starts, freezes, crashes and restarts: Redis and PostgreSQL.

Each runs on a free loopback port from the binaries the CI service scripts
install (``redis-server`` from .ci/services/10-redis.sh; the embedded
PostgreSQL of .ci/services/20-postgres.sh, named by
``SKAAL_TEST_POSTGRES_BIN`` and run as ``SKAAL_TEST_POSTGRES_USER`` because
initdb refuses root).  ``freeze``/``thaw`` send SIGSTOP/SIGCONT: the
process keeps its sockets open and answers nothing, like a server stuck on
a disk or swapped out.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from tests._server import PrivateServer

__all__ = ["PrivatePostgres", "PrivateRedis", "postgres_binaries", "redis_binary"]


def redis_binary() -> str:
    """The ``redis-server`` binary, or a skip naming the script that installs it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed: see .ci/services/10-redis.sh")
    return binary


def postgres_binaries() -> tuple[Path, str]:
    """``(bin directory, user)`` of the test PostgreSQL, or a skip naming the script."""
    bin_dir = os.environ.get("SKAAL_TEST_POSTGRES_BIN")
    if not bin_dir or not (Path(bin_dir) / "postgres").exists():
        pytest.skip("SKAAL_TEST_POSTGRES_BIN not set: see .ci/services/20-postgres.sh")
    return Path(bin_dir), os.environ.get("SKAAL_TEST_POSTGRES_USER", "")


class _Freezable(PrivateServer):
    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.thaw()
        self.stop(signal.SIGKILL)


class PrivateRedis(_Freezable):
    """A redis-server on a free port; with ``appendfsync always`` a reply means on disk."""

    name = "redis-server"
    start_timeout = 10.0

    def __init__(self, binary: str, data: Path) -> None:
        super().__init__()
        self.binary, self.data = binary, data
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        args = [self.binary, "--daemonize", "no", "--bind", "127.0.0.1"]
        args += ["--port", str(self.port), "--dir", str(self.data), "--save", ""]
        return [*args, "--appendonly", "yes", "--appendfsync", "always"]


class PrivatePostgres(_Freezable):
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
        self.thaw()
        self.stop(signal.SIGQUIT)  # immediate shutdown: no checkpoint
