"""The scheduler fires jobs at their exact times, driven by a fake clock (no sleeping)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest

from skaal.blueprint.fire_times import CronSchedule, EverySchedule
from skaal.serve.scheduler import Job, Scheduler


class FakeClock:
    """Time moves only when the scheduler sleeps."""

    def __init__(self, start: datetime) -> None:
        self.time = start
        self.naps: list[float] = []

    def now(self) -> datetime:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.time += timedelta(seconds=seconds)
        await asyncio.sleep(0)


START = datetime(2026, 1, 1, 10, 20, tzinfo=UTC)


def recorder(clock: FakeClock, seen: list[datetime], stop_after: int, done: asyncio.Event) -> Job:
    async def run() -> None:
        seen.append(clock.now())
        if len(seen) >= stop_after:
            done.set()

    return Job("hourly", run, CronSchedule.parse("0 * * * *"))


@pytest.mark.asyncio
async def test_fires_at_each_fire_time() -> None:
    clock = FakeClock(START)
    seen: list[datetime] = []
    done = asyncio.Event()
    scheduler = Scheduler([recorder(clock, seen, 3, done)], clock=clock)
    scheduler.start()
    await asyncio.wait_for(done.wait(), timeout=5)
    await scheduler.stop()
    assert seen == [START.replace(hour=h, minute=0) for h in (11, 12, 13)]
    assert max(clock.naps) <= 30.0  # naps are bounded, so wall-clock jumps are noticed


@pytest.mark.asyncio
async def test_a_failing_job_is_logged_and_the_scheduler_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock(START)
    calls: list[datetime] = []
    done = asyncio.Event()

    async def broken() -> None:
        calls.append(clock.now())
        if len(calls) >= 3:
            done.set()
        raise RuntimeError("boom")

    job = Job("broken", broken, EverySchedule(60.0, START))
    scheduler = Scheduler([job], clock=clock)
    with caplog.at_level(logging.ERROR, logger="skaal.serve.scheduler"):
        scheduler.start()
        await asyncio.wait_for(done.wait(), timeout=5)
        await scheduler.stop()
    assert calls[:3] == [START + timedelta(minutes=m) for m in (1, 2, 3)]
    assert job.failed >= 3
    assert "schedule broken failed" in caplog.text
    assert "RuntimeError: boom" in caplog.text


@pytest.mark.asyncio
async def test_an_overlapping_run_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(START)
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow() -> None:
        started.set()
        await release.wait()

    job = Job("slow", slow, EverySchedule(60.0, START))
    scheduler = Scheduler([job], clock=clock)
    with caplog.at_level(logging.WARNING, logger="skaal.serve.scheduler"):
        scheduler.start()
        await asyncio.wait_for(started.wait(), timeout=5)
        while "still in progress" not in caplog.text:
            await asyncio.sleep(0)
        release.set()
        await scheduler.stop()
    assert job.fired == 1


@pytest.mark.asyncio
async def test_stop_cancels_a_job_that_outlives_the_timeout() -> None:
    clock = FakeClock(START)
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def forever() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    scheduler = Scheduler([Job("forever", forever, EverySchedule(60.0, START))], clock=clock)
    scheduler.start()
    await asyncio.wait_for(started.wait(), timeout=5)
    await scheduler.stop(timeout=0.01)
    assert cancelled.is_set()


@pytest.mark.asyncio
async def test_a_jobs_repr_leaves_its_running_task_out() -> None:
    async def run() -> None:
        return None

    schedule = EverySchedule(3600.0, START)
    task = asyncio.create_task(run())
    await task
    job = Job("hourly", run, schedule, running=task)
    assert "Task" in repr(task)
    assert repr(job) == (
        f"Job(name='hourly', run={run!r}, times={schedule!r}, next_fire=None, "
        "fired=0, failed=0, last=None)"
    )
