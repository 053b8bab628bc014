"""Kill the Redis server mid-test: the client recovers and keeps every acknowledged write.

The test runs its own ``redis-server`` (the binary .ci/services/10-redis.sh
installs) with ``--appendonly yes --appendfsync always``: Redis then fsyncs
each write before replying, which is the durability this test holds it to.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.redis import RedisProvider
from skaal.runtime.ports import BackendSettings

pytestmark = pytest.mark.asyncio


class PrivateRedis:
    """A redis-server on a free port, killed with SIGKILL and restarted on demand."""

    def __init__(self, binary: str, data: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.binary, self.data = binary, data
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [self.binary, "--daemonize", "no", "--bind", "127.0.0.1"]
        args += ["--port", str(self.port), "--dir", str(self.data), "--save", ""]
        args += ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server not installed: see .ci/services/10-redis.sh")
    server = PrivateRedis(binary, tmp_path)
    server.start()
    yield server
    server.kill()


def _spec(name: str, kind: str) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )


async def test_client_recovers_and_loses_no_acknowledged_write(
    private_redis: PrivateRedis, tmp_path: Path
) -> None:
    settings = BackendSettings(
        app="failover",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={"SKAAL_REDIS_URL": private_redis.url},
        clock=time.time,
    )
    provider = RedisProvider(settings)
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
    while len(acked) < 50:
        await asyncio.sleep(0.005)
    private_redis.kill()
    at_crash = len(acked)
    await asyncio.sleep(0.3)
    private_redis.start()
    while len(acked) < at_crash + 50 and not task.done():
        await asyncio.sleep(0.005)
    stop.set()
    await asyncio.wait_for(task, timeout=20)  # the writer never saw an error

    found = await store.get_many([f"k{i:05d}" for i in acked])
    assert found == {f"k{i:05d}": str(i).encode() for i in acked}
    keys, after = [], None
    while True:
        chunk = await store.scan(limit=100, after=after)
        keys += [k for k, _ in chunk.items]
        if chunk.next is None:
            break
        after = chunk.next
    assert set(keys) >= {f"k{i:05d}" for i in acked}
    received = await queue.receive(max_messages=100_000, visibility_timeout=30)
    assert {d.id for d in received} >= set(sent)  # at least once: every acknowledged send
    await provider.close()
