"""A TCP proxy on loopback that injects network faults between a client and its server.

Runs in the test's own event loop::

    async with FaultProxy(server_port) as proxy:   # listens on 127.0.0.1:proxy.port
        proxy.freeze()          # stop forwarding, both ways (bytes wait in the proxy)
        proxy.thaw()            # forward what waited, and everything after
        proxy.hold_replies()    # forward requests, keep the server's replies back
        proxy.lose_next_reply() # forward requests; the next reply closes the connection
        proxy.drop()            # close every open connection now
        proxy.delay = 0.02      # add latency to every chunk, both ways

``hold_replies`` and ``lose_next_reply`` put the fault after the server has
the request, which is where a client cannot know whether a write applied.
Only loopback addresses are used; every connection and task the proxy made
ends when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

__all__ = ["FaultProxy"]

_CHUNK = 65536


class FaultProxy:
    """Forwards ``127.0.0.1:port`` to ``127.0.0.1:target`` with switchable faults."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.delay = 0.0
        self.connections = 0
        self._requests = asyncio.Event()
        self._replies = asyncio.Event()
        self._requests.set()
        self._replies.set()
        self._lose_reply = False
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        self.thaw()
        self.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.wait_for(self._server.wait_closed(), 5)

    # -- faults ----------------------------------------------------------------
    def freeze(self) -> None:
        """Stop forwarding in both directions (a frozen server or a stalled link)."""
        self._requests.clear()
        self._replies.clear()

    def hold_replies(self) -> None:
        """Forward requests but keep every reply back until :meth:`thaw`."""
        self._replies.clear()

    def thaw(self) -> None:
        """Forward again, starting with what was held."""
        self._requests.set()
        self._replies.set()

    def lose_next_reply(self) -> None:
        """The next reply from the server closes its connection instead of arriving."""
        self._lose_reply = True

    def drop(self) -> None:
        """Close every open connection, both sides, at once."""
        for client, upstream in list(self._pairs):
            for writer in (client, upstream):
                writer.transport.abort()
        self._pairs.clear()

    # -- forwarding --------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.target), 5
            )
        except (OSError, TimeoutError):
            writer.transport.abort()
            return
        self.connections += 1
        pair = (writer, up_writer)
        self._pairs.add(pair)
        for task in (
            asyncio.create_task(self._pump(reader, up_writer, pair, reply=False)),
            asyncio.create_task(self._pump(up_reader, writer, pair, reply=True)),
        ):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
        *,
        reply: bool,
    ) -> None:
        gate = self._replies if reply else self._requests
        try:
            while data := await reader.read(_CHUNK):
                await gate.wait()
                if self.delay:
                    await asyncio.sleep(self.delay)
                if reply and self._lose_reply:
                    self._lose_reply = False
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for side in pair:
                side.transport.abort()
            self._pairs.discard(pair)
            with contextlib.suppress(Exception):
                await writer.wait_closed()
