"""A stand-in runtime for serving-plane tests that must not depend on real backends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar
from typing import Any

CURRENT: ContextVar[FakeRuntime | None] = ContextVar("fake_runtime", default=None)


class FakeRuntime:
    """Activates itself in a ContextVar, like the real runtime; has no consumers."""

    def __init__(self) -> None:
        self.opened = False
        self.closed = False
        self.values: dict[str, int] = {}

    @contextlib.contextmanager
    def activate(self) -> Iterator[FakeRuntime]:
        token = CURRENT.set(self)
        try:
            yield self
        finally:
            CURRENT.reset(token)

    def consumers(self) -> tuple[Any, ...]:
        return ()

    def subscribers(self) -> tuple[Any, ...]:
        return ()


def factory(runtime: FakeRuntime) -> Any:
    @contextlib.asynccontextmanager
    async def open_() -> AsyncIterator[FakeRuntime]:
        runtime.opened = True
        try:
            yield runtime
        finally:
            runtime.closed = True

    return open_
