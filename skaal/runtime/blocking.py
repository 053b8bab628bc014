"""``skaal.blocking(...)``: Skaal's async resource API from synchronous code.

A Flask (WSGI) view is a plain function running on a worker thread, and every
resource call (``Visits.get(k)``) is a coroutine.  The backends it needs are
bound to the event loop the runtime was opened on (an ``asyncpg`` pool, a
Redis connection, the SQLite worker), so the call must run *there*, not on a
new loop in the worker thread.  ``blocking(Visits.get(k))`` hands the
coroutine to that loop (:func:`asyncio.run_coroutine_threadsafe`) and waits
for its result on the calling thread; the loop stays free to serve other
requests meanwhile.

The loop is known from context: :func:`serving_loop` records it around each
request the server passes to a WSGI app (:mod:`skaal.serve.wsgi`), and the
WSGI adapter runs the app in a copy of the request's context, so the worker
thread sees the loop and the active runtime.  The coroutine runs in a copy
of the worker thread's context (``call_soon_threadsafe`` copies it), so it
finds the same runtime.

Misuse is a :class:`BlockingCallError` saying what to do instead: calling it
on the loop's own thread (``await`` there, or the loop would wait for itself)
or where no server loop is known (outside a request to a mounted WSGI app).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Awaitable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from skaal.declare.location import frame_location
from skaal.errors import SkaalRuntimeError

__all__ = ["BlockingCallError", "blocking", "serving_loop"]

T = TypeVar("T")

_LOOP: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar("skaal_serving_loop", default=None)


class BlockingCallError(SkaalRuntimeError):
    """``skaal.blocking`` was called where it cannot wait for the server's loop."""


@contextmanager
def serving_loop(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Make ``loop`` the one :func:`blocking` runs calls on, until the block ends."""
    token = _LOOP.set(loop)
    try:
        yield
    finally:
        _LOOP.reset(token)


def _as_coroutine(awaitable: Awaitable[T]) -> Coroutine[Any, Any, T]:
    if inspect.iscoroutine(awaitable):
        return awaitable

    async def wait() -> T:
        return await awaitable

    return wait()


def blocking(awaitable: Awaitable[T]) -> T:
    """Run a Skaal call on the server's event loop and wait for its result.

    For synchronous code the server runs on a worker thread, such as the
    views of a mounted WSGI (Flask, Django) app::

        @flask_app.get("/visits/<page>")
        def visits(page: str) -> dict[str, int]:
            return {"visits": skaal.blocking(Visits.increment(page))}

    The call's exception, if any, is raised here.  In ``async`` code,
    ``await`` the call instead.
    """
    loop = _LOOP.get()
    problem = None
    if loop is None or loop.is_closed():
        problem = (
            "skaal.blocking() was called outside a request to a mounted WSGI app, "
            "so there is no server event loop to run the call on",
            "call it from a view of a WSGI app mounted with app.mount(path, wsgi_app); "
            "in async code, await the call; in a script, use asyncio.run()",
        )
    else:
        try:
            asyncio.get_running_loop()
            problem = (
                "skaal.blocking() was called on a thread that runs an event loop; waiting "
                "there would block every request",
                "await the call instead: value = await Visits.get(key)",
            )
        except RuntimeError:
            pass  # no loop on this thread: the expected case
    if problem is not None:
        if inspect.iscoroutine(awaitable):
            awaitable.close()  # never awaited: close it, so Python does not warn
        # the caller's file:line, read only for the error (it is not free)
        what, fix = problem
        raise BlockingCallError(what, where=str(frame_location(sys._getframe(1))), fix=fix)
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(_as_coroutine(awaitable), loop).result()
