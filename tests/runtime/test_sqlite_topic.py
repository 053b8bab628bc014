"""The SQLite topic keeps subscriptions and undelivered messages across restarts."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.sqlite import SqliteProvider
from skaal.runtime.ports import BackendSettings, TopicBackend

pytestmark = pytest.mark.asyncio

SPEC = ResourceSpec(
    name="Events",
    kind="topic",
    requirements=Requirements(durability="durable"),
    location=SourceLocation(file="app.py", line=1),
)


@asynccontextmanager
async def topic(data_dir: Path) -> AsyncIterator[TopicBackend]:
    """The topic on a fresh provider: one "process" of the app."""
    settings = BackendSettings(
        app="events", data_dir=data_dir, project_dir=data_dir, env={}, clock=time.time
    )
    provider = SqliteProvider(settings)
    await provider.open()
    backend = provider.topic(SPEC)
    await backend.open()
    try:
        yield backend
    finally:
        await backend.close()
        await provider.close()


async def test_messages_published_while_a_subscriber_is_down_wait_for_it(tmp_path: Path) -> None:
    async with topic(tmp_path) as events:
        mail = await events.subscribe("mail")
        await events.publish(b"1")
        assert await mail.get(timeout=1) == b"1"
        await events.publish(b"2")  # published, not yet taken, when the process stops
    async with topic(tmp_path) as events:  # the publisher restarts alone
        assert await events.publish(b"3") == 1  # the subscription outlived the process
    async with topic(tmp_path) as events:
        mail = await events.subscribe("mail")  # same name: resumes where it left off
        assert [await mail.get(timeout=1) for _ in range(2)] == [b"2", b"3"]
        assert await mail.get(timeout=0.01) is None


async def test_a_new_subscription_starts_at_the_end_of_the_log(tmp_path: Path) -> None:
    async with topic(tmp_path) as events:
        first = await events.subscribe("first")
        await events.publish(b"old")
        late = await events.subscribe("late")
        await events.publish(b"new")
        assert await late.get(timeout=1) == b"new"
        assert [await first.get(timeout=1), await first.get(timeout=1)] == [b"old", b"new"]


async def test_readers_of_one_subscription_share_its_messages(tmp_path: Path) -> None:
    async with topic(tmp_path) as events:
        readers = [await events.subscribe("work") for _ in range(4)]
        for i in range(200):
            await events.publish(str(i).encode())
        taken = await asyncio.gather(*(_drain(r) for r in readers))
        flat = [m for batch in taken for m in batch]
        assert sorted(flat, key=int) == [str(i).encode() for i in range(200)]  # once each


async def _drain(reader: object) -> list[bytes]:
    out = []
    while (message := await reader.get(timeout=0.05)) is not None:  # type: ignore[attr-defined]
        out.append(message)
    return out


async def test_a_publish_from_another_process_reaches_a_waiting_reader(tmp_path: Path) -> None:
    async with topic(tmp_path) as reading, topic(tmp_path) as writing:
        mail = await reading.subscribe("mail")
        waiting = asyncio.create_task(mail.get(timeout=5))
        await asyncio.sleep(0.05)
        assert await writing.publish(b"hello") == 1  # no in-process wake-up: found by polling
        assert await waiting == b"hello"


async def test_the_log_keeps_only_what_some_subscription_has_not_taken(tmp_path: Path) -> None:
    async with topic(tmp_path) as events:
        a, b = await events.subscribe("a"), await events.subscribe("b")
        for i in range(10):
            await events.publish(bytes([i]))
        for _ in range(10):
            await a.get(timeout=1)
        for _ in range(4):
            await b.get(timeout=1)
        assert _log_size(tmp_path) == 7  # b's 6 + the last one taken (kept to undo a take)
        await b.close()  # the laggard unsubscribes: only a's last take is kept
        assert _log_size(tmp_path) == 1
        await a.close()  # nobody left: the log empties
        assert _log_size(tmp_path) == 0
        assert await events.publish(b"x") == 0


async def test_a_reader_stopped_while_taking_puts_the_message_back(tmp_path: Path) -> None:
    async with topic(tmp_path) as events:
        mail = await events.subscribe("mail")
        await events.publish(b"keep me")
        reading = asyncio.create_task(mail.get(timeout=1))
        await asyncio.sleep(0)  # the reader is now waiting for its take
        reading.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reading
        assert await mail.get(timeout=1) == b"keep me"


def _log_size(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "events.sqlite3") as conn:
        return int(conn.execute('SELECT count(*) FROM "topic:Events"').fetchone()[0])
