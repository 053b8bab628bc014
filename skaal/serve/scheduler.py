"""The in-process scheduler: fire ``@app.schedule`` functions on time.

One asyncio task loops: it asks every job when it fires next
(:mod:`skaal.blueprint.fire_times`), sleeps until the earliest of those moments, then
starts every job that is due as its own task, so a slow job never delays
another.  Time comes from an injected :class:`Clock`; tests pass a fake one
whose ``sleep`` advances time instantly, so fire times are checked exactly
without waiting.

* A job that raises is logged (with its traceback) and fires again at its
  next time; the scheduler keeps running.
* A job still running when it is due again is not started twice: that fire is
  skipped with a warning.
* ``stop()`` stops firing and waits (bounded) for running jobs to finish.
* ``run_now(name)`` starts a job at once, outside its times (the dashboard's
  "run now"); a job already running is not started twice.  Each job keeps
  its last run (:class:`LastRun`: when, how long, the error if it failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol

from msgspec import Struct

from skaal.blueprint.fire_times import FireTimes

__all__ = ["Clock", "Job", "LastRun", "Scheduler", "SystemClock"]

log = logging.getLogger("skaal.serve.scheduler")

#: Never sleep longer than this in one go, so a wall-clock jump is noticed.
_MAX_NAP_S = 30.0


class Clock(Protocol):
    """Where the scheduler gets the time and how it waits."""

    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class LastRun(Struct, frozen=True):
    """How a job's latest run went."""

    started: datetime
    seconds: float | None = None
    """How long it ran; ``None`` while it is running."""
    error: str | None = None
    """``Type: message`` of the exception it raised, or ``None``."""
    manual: bool = False
    """Started by :meth:`Scheduler.run_now` rather than by its schedule."""


class Job(Struct):
    """A named coroutine function and when it fires."""

    name: str
    run: Callable[[], Awaitable[object]]
    times: FireTimes
    next_fire: datetime | None = None
    running: asyncio.Task[None] | None = None
    fired: int = 0
    failed: int = 0
    last: LastRun | None = None

    def __repr__(self) -> str:
        # ``running`` is left out: a task's repr is long and says nothing of the job
        shown = (
            f"name={self.name!r}, run={self.run!r}, times={self.times!r}, "
            f"next_fire={self.next_fire!r}, fired={self.fired!r}, failed={self.failed!r}, "
            f"last={self.last!r}"
        )
        return f"{type(self).__name__}({shown})"


class Scheduler:
    """Runs :class:`Job` s at their fire times until stopped."""

    def __init__(self, jobs: list[Job], *, clock: Clock | None = None) -> None:
        self.jobs = jobs
        self.clock: Clock = clock or SystemClock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        """Start the loop as a background task."""
        if self._task is None and self.jobs:
            self._task = asyncio.create_task(self.run(), name="skaal-scheduler")

    async def run(self) -> None:
        """The loop; returns when :meth:`stop` is called."""
        now = self.clock.now()
        for job in self.jobs:
            job.next_fire = job.times.next_after(now)
            log.info("schedule %s: next run at %s", job.name, job.next_fire)
        while not self._stopping.is_set():
            due = [j.next_fire for j in self.jobs if j.next_fire is not None]
            if not due:
                await self._stopping.wait()
                return
            wait = (min(due) - self.clock.now()).total_seconds()
            if wait > 0:
                await self._nap(min(wait, _MAX_NAP_S))
                continue
            now = self.clock.now()
            for job in self.jobs:
                if job.next_fire is not None and job.next_fire <= now:
                    self._fire(job)
                    job.next_fire = job.times.next_after(now)

    async def _nap(self, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        stopper = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for pending in (sleeper, stopper):
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending

    def run_now(self, name: str) -> bool:
        """Start the job ``name`` now; ``False`` if it is already running.

        A ``KeyError`` for a name that is not a job of this scheduler.
        """
        job = next((j for j in self.jobs if j.name == name), None)
        if job is None:
            raise KeyError(name)
        return self._fire(job, manual=True)

    def _fire(self, job: Job, *, manual: bool = False) -> bool:
        if job.running is not None and not job.running.done():
            log.warning("schedule %s: previous run still in progress; skipping this one", job.name)
            return False
        job.running = asyncio.create_task(
            self._call(job, manual=manual), name=f"skaal-schedule-{job.name}"
        )
        return True

    async def _call(self, job: Job, *, manual: bool = False) -> None:
        job.fired += 1
        started = self.clock.now()
        job.last = LastRun(started, manual=manual)
        error: str | None = None
        try:
            await job.run()
        except Exception as exc:
            job.failed += 1
            error = f"{type(exc).__name__}: {exc}"
            log.exception("schedule %s failed; it runs again at its next time", job.name)
        seconds = (self.clock.now() - started).total_seconds()
        job.last = LastRun(started, seconds=seconds, error=error, manual=manual)

    async def stop(self, *, timeout: float = 10.0) -> None:
        """Stop firing; wait up to ``timeout`` seconds for running jobs, then cancel them."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        running = [j.running for j in self.jobs if j.running is not None and not j.running.done()]
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=timeout)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
