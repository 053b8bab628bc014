"""What every fault-injection test shares: settings, a bounded clock, and polling.

The deadline under test is short (:data:`DEADLINE`, set through
``SKAAL_CALL_DEADLINE``) so that a frozen server costs about a second; an
error must arrive within it plus :data:`SLACK`.  Every wait of the tests
themselves is bounded by :func:`bounded` so that a client that hangs fails
the test instead of stalling CI.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from skaal.runtime.errors import DeadlineExceededError
from skaal.runtime.ports import BackendSettings

__all__ = ["DEADLINE", "SLACK", "Outcome", "bounded", "eventually", "set_up", "settings"]

T = TypeVar("T")

DEADLINE = 1.0
"""``SKAAL_CALL_DEADLINE`` of the clients under test, in seconds."""
SLACK = 1.0
"""What a call may take beyond its deadline (scheduling on a loaded CI machine)."""


def settings(tmp_path: Path, env: dict[str, str]) -> BackendSettings:
    return BackendSettings(
        app="faults",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={"SKAAL_CALL_DEADLINE": str(DEADLINE), **env},
        clock=time.time,
    )


class Outcome:
    """What a call returned or raised, and how long it took."""

    def __init__(self) -> None:
        self.value: object = None
        self.error: BaseException | None = None
        self.seconds = 0.0


async def bounded(call: Awaitable[T], *, limit: float = DEADLINE + SLACK + 3) -> Outcome:
    """Run ``call`` for at most ``limit`` seconds; a hang is reported as ``TimeoutError``."""
    outcome = Outcome()
    began = time.monotonic()
    try:
        outcome.value = await asyncio.wait_for(call, limit)
    except Exception as error:
        outcome.error = error
    outcome.seconds = time.monotonic() - began
    return outcome


async def eventually(
    probe: Callable[[], Awaitable[T | None]], want: T, *, timeout: float = 5
) -> T | None:
    """Poll ``probe`` every 20 ms until it returns ``want`` (or ``timeout`` passes)."""
    end = time.monotonic() + timeout
    while True:
        got = await probe()
        if got == want or time.monotonic() > end:
            return got
        await asyncio.sleep(0.02)


async def set_up(step: Callable[[], Awaitable[T]], *, within: float = 30) -> T:
    """Run a test's set-up ``step`` (opening a store, seeding it) until it finishes.

    Set-up is not what a fault test checks, yet its calls run under the short
    :data:`DEADLINE` of the client under test: a server just thawed by the test
    before, or a busy CI machine, can make one of them miss it.  A step that
    misses the deadline is run again (every step given here may be repeated),
    for at most ``within`` seconds.
    """
    end = time.monotonic() + within
    while True:
        try:
            return await step()
        except DeadlineExceededError:
            if time.monotonic() > end:
                raise
