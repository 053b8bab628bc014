"""A write load that keeps running while a test crashes and restarts its server.

Shared by the PostgreSQL and Redis failover tests: :class:`WriteLoad` sets
``k00000, k00001, ...`` in a key-value store and sends the same numbers on a
queue, one after the other, recording only what the backend acknowledged.
The test crashes its server in the middle, restarts it, lets the load make
progress again and then checks that every acknowledged write is still there
(:meth:`WriteLoad.assert_nothing_lost`) and that none was applied twice.
The client is expected to ride through the restart: the only error the
writer may see is :class:`~skaal.runtime.errors.OutcomeUnknownError` for
the one write that was in flight when the server died, if that write is
not safe to repeat (a PostgreSQL queue ``send``); it counts as
unacknowledged.
"""

from __future__ import annotations

import asyncio

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.errors import OutcomeUnknownError
from skaal.runtime.ports import KeyValueBackend, Provider, QueueBackend


def resource_spec(name: str, kind: str) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )


class WriteLoad:
    """Sequential acknowledged writes to a map ``M`` and a queue ``Q`` of ``provider``."""

    def __init__(self, provider: Provider) -> None:
        self.store: KeyValueBackend = provider.key_value(resource_spec("M", "map"))
        self.queue: QueueBackend = provider.queue(resource_spec("Q", "queue"))
        self.acked: list[int] = []
        self.sent: list[str] = []
        self.unknown: list[int] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.store.open()
        await self.queue.open()
        self._task = asyncio.create_task(self._write())

    async def _write(self) -> None:
        i = 0
        while not self._stop.is_set():
            try:
                await self.store.set(f"k{i:05d}", str(i).encode())
                self.acked.append(i)
                self.sent.append(await self.queue.send(str(i).encode()))
            except OutcomeUnknownError:
                self.unknown.append(i)
            i += 1

    async def until(self, count: int) -> None:
        """Wait until ``count`` writes are acknowledged (or the writer stopped)."""
        while len(self.acked) < count and not (self._task is not None and self._task.done()):
            await asyncio.sleep(0.005)

    async def stop(self, *, timeout: float, crashes: int = 1) -> None:
        """Stop the writer; re-raises any error it saw but one unknown outcome per crash."""
        self._stop.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout=timeout)
        assert len(self.unknown) <= crashes, self.unknown

    async def assert_nothing_lost(self) -> None:
        found = await self.store.get_many([f"k{i:05d}" for i in self.acked])
        assert found == {f"k{i:05d}": str(i).encode() for i in self.acked}
        received = await self.queue.receive(max_messages=100_000, visibility_timeout=30)
        assert {d.id for d in received} >= set(self.sent)  # every acknowledged send is there
        bodies = [d.body for d in received]
        assert len(bodies) == len(set(bodies))  # and none was applied twice
