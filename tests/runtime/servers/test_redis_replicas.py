"""Reads of a Redis map spread over the primary and its read replicas; writes stay on the primary.

Each test that needs servers runs its own primary and a real replica of it
(``redis-server --replicaof``, the binary .ci/services/10-redis.sh installs)
on free loopback ports, and counts what each one served with
``CONFIG RESETSTAT`` and ``INFO commandstats``.  Writes reach the replica
before a test reads them because the test waits for ``WAIT 1 5000`` on the
primary, never for a sleep.  The replica is read-only, so a write routed to
it would fail with ``READONLY`` rather than pass unnoticed.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from skaal.registry.builtin import REDIS_CONNECTION
from skaal.runtime.backends.redis import RedisKeyValue, RedisProvider
from skaal.runtime.backends.redis_support import (
    RedisBackendError,
    RedisConnection,
    RedisUnavailableError,
)
from skaal.runtime.retry import RetryPolicy
from tests._server import free_port
from tests.runtime.servers._private import PrivateRedis, redis_binary
from tests.runtime.servers._redis import settings, spec

pytestmark = pytest.mark.asyncio

READ_COMMANDS = ("get", "mget", "exists", "pttl", "pexpiretime", "zrangebylex")


class EphemeralRedis(PrivateRedis):
    """A private redis-server without persistence, optionally a replica of another."""

    def __init__(self, binary: str, data: Path, *, replica_of: int | None = None) -> None:
        data.mkdir()  # a replica stores the primary's snapshot here while it syncs
        super().__init__(binary, data)
        self.replica_of = replica_of

    def command(self) -> list[str]:
        args = [self.binary, "--daemonize", "no", "--bind", "127.0.0.1"]
        args += ["--port", str(self.port), "--dir", str(self.data)]
        args += ["--save", "", "--appendonly", "no"]
        # a primary otherwise waits 5 s for more replicas before it sends the first sync
        args += ["--repl-diskless-sync-delay", "0"]
        if self.replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(self.replica_of)]
        return args


class Pair:
    """A running primary and its replica, with a plain client on each."""

    def __init__(self, primary: EphemeralRedis, replica: EphemeralRedis) -> None:
        self.primary, self.replica = primary, replica
        self.on_primary = Redis.from_url(primary.url)
        self.on_replica = Redis.from_url(replica.url)
        self.prefix = f"test:{uuid.uuid4().hex[:12]}:"

    def env(self, replicas: int | None) -> dict[str, str]:
        """A provider's variables: the primary, and the replica when ``replicas`` is given."""
        env = {REDIS_CONNECTION.url: self.primary.url, "SKAAL_REDIS_PREFIX": self.prefix}
        if replicas is not None:
            env[REDIS_CONNECTION.read_url] = self.replica.url
            env[REDIS_CONNECTION.replicas] = str(replicas)
        return env

    async def replicated(self) -> None:
        """Return once the replica holds every write the primary acknowledged so far."""
        assert await self.on_primary.execute_command("WAIT", 1, 5000) == 1

    async def reset_stats(self) -> None:
        await self.on_primary.config_resetstat()
        await self.on_replica.config_resetstat()

    async def served(self) -> tuple[dict[str, int], dict[str, int]]:
        """Successful calls per read command since the last reset: (primary, replica)."""
        return await _reads(self.on_primary), await _reads(self.on_replica)


async def _reads(client: Redis) -> dict[str, int]:
    stats = await client.info("commandstats")
    counts = {}
    for command in READ_COMMANDS:
        entry = stats.get(f"cmdstat_{command}", {})
        counts[command] = int(entry.get("calls", 0)) - int(entry.get("failed_calls", 0))
    return counts


async def _until_linked(replica: Redis) -> None:
    """Wait (bounded) until the replica reports its link to the primary up."""
    deadline = time.monotonic() + 20
    while (await replica.info("replication")).get("master_link_status") != "up":
        if time.monotonic() > deadline:
            pytest.fail("the private replica did not sync with its primary within 20 s")
        await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def pair(tmp_path: Path) -> AsyncIterator[Pair]:
    binary = redis_binary()
    primary = EphemeralRedis(binary, tmp_path / "primary")
    primary.start()
    replica = EphemeralRedis(binary, tmp_path / "replica", replica_of=primary.port)
    try:
        replica.start()
        servers = Pair(primary, replica)
        try:
            await _until_linked(servers.on_replica)
            yield servers
        finally:
            await servers.on_primary.aclose()
            await servers.on_replica.aclose()
    finally:
        replica.stop(signal.SIGTERM)
        primary.stop(signal.SIGTERM)


@pytest_asyncio.fixture
async def opened(pair: Pair, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """``await opened(replicas, clock=...)``: a store ``M`` of a fresh, open provider."""
    providers: list[RedisProvider] = []

    async def open_store(replicas: int | None, clock: Any = time.time) -> RedisKeyValue:
        provider = RedisProvider(settings(pair.env(replicas), tmp_path, clock))
        await provider.open()
        providers.append(provider)
        store = provider.key_value(spec("M"))
        await store.open()
        return store

    yield open_store
    for provider in providers:
        await provider.close()


async def test_one_read_in_three_goes_to_the_primary_with_two_replicas(
    pair: Pair, opened: Callable[..., Any]
) -> None:
    store = await opened(2)
    await store.set_many({"a": b"1", "b": b"2", "c": b"3"})
    await pair.replicated()
    await pair.reset_stats()
    for i in range(30):
        key = "abc"[i % 3]
        assert await store.get(key) == str(i % 3 + 1).encode()
    primary, replica = await pair.served()
    assert (primary["get"], replica["get"]) == (10, 20)


async def test_reads_from_the_replica_answer_what_the_primary_holds(
    pair: Pair, opened: Callable[..., Any]
) -> None:
    store = await opened(2)
    await store.set_many({"a": b"1", "b": b"2", "d": b"4", "e": b"5"})
    await store.set("c", b"3", ttl=60)
    await pair.replicated()

    # each read is one call; three in a row: one on the primary, two on the replica
    checks: list[tuple[str, Callable[[], Any], Any]] = [
        ("mget", lambda: store.get_many(["a", "nope", "c", "a"]), {"a": b"1", "c": b"3"}),
        ("exists", lambda: store.contains("b"), True),
        ("exists", lambda: store.contains("nope"), False),
    ]
    for command, read, expected in checks:
        await pair.reset_stats()
        for _ in range(3):
            assert await read() == expected
        primary, replica = await pair.served()
        assert (primary[command], replica[command]) == (1, 2), command

    await pair.reset_stats()
    for _ in range(3):
        left = await store.remaining_ttl(["a", "c", "nope"])
        assert list(left) == ["c"]
        assert 0 < left["c"] <= 60
    primary, replica = await pair.served()
    assert (primary["pttl"], replica["pttl"]) == (3, 6)  # three keys per call

    await pair.reset_stats()
    for _ in range(3):
        keys, after = [], None
        while True:
            chunk = await store.scan(limit=2, after=after)
            keys += chunk.items
            if chunk.next is None:
                break
            after = chunk.next
        assert keys == [(k, str(i + 1).encode()) for i, k in enumerate("abcde")]
        chunk = await store.scan(prefix="d", limit=10)
        assert chunk.items == (("d", b"4"),)
        assert chunk.next is None
    primary, replica = await pair.served()
    assert primary["zrangebylex"] > 0
    assert replica["zrangebylex"] > 0
    assert replica["mget"] + replica["get"] > 0


async def test_an_injected_clock_expires_entries_read_from_the_replica(
    pair: Pair, opened: Callable[..., Any]
) -> None:
    now = [time.time()]
    store = await opened(1, clock=lambda: now[0])
    await store.set("old", b"1", ttl=10)
    await store.set("kept", b"2")
    await pair.replicated()
    now[0] += 20  # past the entry's expiry by the store's clock, not by the server's
    await pair.reset_stats()
    for _ in range(2):
        assert await store.get_many(["old", "kept"]) == {"kept": b"2"}
        assert not await store.contains("old")
        assert await store.remaining_ttl(["old", "kept"]) == {}
    primary, replica = await pair.served()
    # a read with an injected clock also asks PEXPIRETIME; r = 1 alternates
    assert primary["mget"] == replica["mget"] == 2
    assert replica["pexpiretime"] > 0


async def test_writes_and_the_index_cleanup_stay_on_the_primary(
    pair: Pair, opened: Callable[..., Any]
) -> None:
    store = await opened(2)
    await pair.reset_stats()
    # a read before each write moves the read counter; writes must not follow it
    assert await store.get("n") is None
    await store.set("a", b"1", ttl=60)
    await store.get("a")  # whatever it answers: a replica may lag, the plan allows it
    await store.set_many({"b": b"2", "c": b"3"})
    await store.get("b")
    assert await store.increment("n", 5) == 5
    await store.get("n")
    assert await store.compare_and_set("a", b"1", b"9")
    await store.get("a")
    assert await store.delete("b")
    native = await store.native()  # native code may write: it gets the primary
    assert native.client.connection_pool.connection_kwargs["port"] == pair.primary.port

    on_primary = (await pair.on_primary.info("commandstats"))["cmdstat_evalsha"]
    assert on_primary["calls"] - on_primary["failed_calls"] == 3  # set, increment, cas
    assert (await pair.on_primary.info("commandstats"))["cmdstat_exec"]["calls"] == 2
    replica_stats = await pair.on_replica.info("commandstats")
    assert "cmdstat_evalsha" not in replica_stats  # scripts reach a replica as their effects
    assert "errorstat_READONLY" not in await pair.on_replica.info("errorstats")

    # a value gone behind the store's back: the scan drops its index entry, on the primary
    await pair.on_primary.delete(f"{pair.prefix}m:M:v:c")
    await pair.replicated()
    for _ in range(3):  # whichever endpoint reads, the cleanup writes on the primary
        chunk = await store.scan(limit=10)
        assert [k for k, _ in chunk.items] == ["a", "n"]
    assert await pair.on_primary.zrange(f"{pair.prefix}m:M:keys", 0, -1) == [b"a", b"n"]
    assert await pair.on_primary.get(f"{pair.prefix}m:M:v:a") == b"9"
    assert "errorstat_READONLY" not in await pair.on_replica.info("errorstats")


async def test_without_read_replicas_every_read_goes_to_the_primary(
    pair: Pair, opened: Callable[..., Any]
) -> None:
    store = await opened(None)
    await store.set_many({"a": b"1", "b": b"2"})
    await store.set("t", b"3", ttl=60)
    await pair.replicated()
    await pair.reset_stats()
    for _ in range(6):
        assert await store.get("a") == b"1"
    assert await store.get_many(["a", "b"]) == {"a": b"1", "b": b"2"}
    assert await store.contains("t")
    assert list(await store.remaining_ttl(["t"])) == ["t"]
    assert [k for k, _ in (await store.scan(limit=10)).items] == ["a", "b", "t"]
    primary, replica = await pair.served()
    assert primary["get"] == 6
    assert primary["mget"] == 2
    assert primary["zrangebylex"] == 1
    assert primary["exists"] == 1
    assert primary["pttl"] == 1
    assert set(replica.values()) == {0}


async def test_a_failing_replica_is_named_in_the_error(pair: Pair, tmp_path: Path) -> None:
    policy = RetryPolicy(attempts=2, initial_delay=0.01, max_delay=0.02)
    conn = RedisConnection(settings(pair.env(1), tmp_path), policy=policy)
    await conn.open()
    try:
        store = RedisKeyValue(conn, "M", time.time, server_clock=True)
        await store.open()
        await store.set("a", b"1")
        pair.replica.stop(signal.SIGKILL)
        failures = []
        for _ in range(2):  # r = 1: one of the two goes to the replica, the other succeeds
            try:
                assert await store.get("a") == b"1"
            except RedisUnavailableError as error:
                failures.append(error)
        assert len(failures) == 1
        message = str(failures[0])
        assert f"get on map 'M' on redis at {pair.primary.url}" in message
        assert f"read from its read replicas at {pair.replica.url}" in message
        assert failures[0].fix is not None
        assert REDIS_CONNECTION.read_url in failures[0].fix
    finally:
        await conn.close()


async def test_an_unreachable_reader_fails_open_without_its_password(
    pair: Pair, tmp_path: Path
) -> None:
    env = pair.env(2) | {REDIS_CONNECTION.read_url: f"redis://u:s3cret@127.0.0.1:{free_port()}/0"}
    conn = RedisConnection(settings(env, tmp_path), policy=RetryPolicy(attempts=1))
    with pytest.raises(RedisUnavailableError, match=r"connect on redis read replicas at") as err:
        await conn.open()
    assert "s3cret" not in str(err.value)
    assert "u:***@" in str(err.value)
    assert err.value.fix is not None
    assert REDIS_CONNECTION.read_url in err.value.fix
    await conn.close()


@pytest.mark.parametrize(
    ("replicas", "read_url", "variable", "says"),
    [
        ("0", "redis://127.0.0.1:1/0", REDIS_CONNECTION.replicas, "of at least 1"),
        ("two", "redis://127.0.0.1:1/0", REDIS_CONNECTION.replicas, "whole number"),
        ("-1", "redis://127.0.0.1:1/0", REDIS_CONNECTION.replicas, "whole number"),
        ("1.5", "redis://127.0.0.1:1/0", REDIS_CONNECTION.replicas, "whole number"),
        ("", "redis://127.0.0.1:1/0", REDIS_CONNECTION.replicas, "is not"),
        ("2", "", REDIS_CONNECTION.read_url, "is not"),
        ("2", "http://u:s3cret@nowhere/0", REDIS_CONNECTION.read_url, "not a Redis URL"),
        ("2", "redis://u:s3cret@host:port/0", REDIS_CONNECTION.read_url, "not a Redis URL"),
    ],
)
async def test_bad_replica_settings_are_clear_errors(
    tmp_path: Path, replicas: str, read_url: str, variable: str, says: str
) -> None:
    # checked before any connection is made: the primary's URL need not answer
    env = {
        REDIS_CONNECTION.url: f"redis://127.0.0.1:{free_port()}/0",
        REDIS_CONNECTION.read_url: read_url,
        REDIS_CONNECTION.replicas: replicas,
    }
    conn = RedisConnection(settings(env, tmp_path), policy=RetryPolicy(attempts=1))
    with pytest.raises(RedisBackendError) as err:
        await conn.open()
    assert not isinstance(err.value, RedisUnavailableError)
    text = str(err.value)
    assert variable in text
    assert says in text
    assert "s3cret" not in text
    assert err.value.fix is not None
    assert variable in err.value.fix
    await conn.close()
