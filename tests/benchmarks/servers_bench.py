"""Server backends: Map get/set and Collection find through Skaal vs the raw driver.

Same run, same server, same keys.  Skaal's side is the path user code takes
(``await Visits.get(key)`` on the class facade: active-runtime lookup, key
and value codecs, the backend, the pooled driver).  The raw side is the
plainest thing a hand-written app would do with the same driver:

* **Redis** (``redis.asyncio``, one pooled client): ``GET`` / ``SET``.
  Skaal's ``set`` also keeps the ordered key index (``SET`` + ``ZADD`` in
  one ``MULTI``), still one round trip.
* **PostgreSQL** (``asyncpg`` pool): ``SELECT value ... WHERE key = $1`` and
  an ``INSERT ... ON CONFLICT DO UPDATE`` upsert on a table of the same
  shape; Collection ``find``: the same indexed JSONB query, rows decoded
  into the same pydantic models.

Sequential (one task: latency-bound) and concurrent (``--tasks`` tasks at
once: throughput-bound).  Each row is the best of three alternating runs.
Two ratios: wall-clock throughput (raw / Skaal), and the client process's
CPU time per operation (Skaal / raw) -- the second is what Skaal adds, and
it stays meaningful on a shared, loaded machine where wall-clock figures
swing.  Target ratio <= 1.3.

    source .ci/services/10-redis.sh; source .ci/services/20-postgres.sh  # or any servers
    python tests/benchmarks/servers_bench.py [--ops 5000] [--tasks 16]

Reads ``SKAAL_TEST_REDIS_URL`` and ``SKAAL_TEST_POSTGRES_DSN``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
from pydantic import BaseModel
from redis.asyncio import Redis

from skaal import App, Collection, Index, Map
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.solver import solve

ROOT = Path(__file__).resolve().parents[2]

app = App("servers-bench")


@app.storage(backend="redis", durability="ephemeral")
class RedisMap(Map[str, int]): ...


@app.storage(backend="postgres")
class PgMap(Map[str, int]): ...


class Note(BaseModel):
    id: str
    owner: str
    body: str


@app.storage(backend="postgres")
class PgNotes(Collection[Note]):
    key = "id"
    by_owner = Index("owner")


Op = Callable[[int], Awaitable[object]]


async def rate(op: Op, ops: int, tasks: int) -> tuple[float, float]:
    """``(operations per second, client CPU microseconds per operation)``."""

    async def worker(start: int) -> None:
        for i in range(start, ops, tasks):
            await op(i)

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(t) for t in range(tasks)))
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu
    return ops / wall, cpu / ops * 1e6


async def compare(name: str, skaal: Op, raw: Op, ops: int, tasks: int, *, rounds: int = 3) -> str:
    """Best of ``rounds`` alternating runs of each side (the machine may be shared)."""
    best_skaal = best_raw = 0.0
    cpu_skaal = cpu_raw = float("inf")
    for _ in range(rounds):
        skaal_rate, skaal_cpu = await rate(skaal, ops, tasks)
        raw_rate, raw_cpu = await rate(raw, ops, tasks)
        best_skaal, cpu_skaal = max(best_skaal, skaal_rate), min(cpu_skaal, skaal_cpu)
        best_raw, cpu_raw = max(best_raw, raw_rate), min(cpu_raw, raw_cpu)
    return (
        f"  {name:<30} skaal {best_skaal:>7,.0f}/s  raw {best_raw:>7,.0f}/s  "
        f"ratio {best_raw / best_skaal:4.2f}x  |  client CPU/op skaal {cpu_skaal:5.0f} us  "
        f"raw {cpu_raw:5.0f} us  ratio {cpu_skaal / cpu_raw:4.2f}x"
    )


async def bench_redis(url: str, ops: int, tasks: int) -> list[str]:
    raw = Redis.from_url(url)
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    key = [f"k{i % 1000}" for i in range(ops)]
    lines = []
    try:
        await raw.ping()
        for label, n in (("sequential", 1), (f"{tasks} tasks", tasks)):
            lines.append(
                await compare(
                    f"redis set ({label})",
                    lambda i: RedisMap.set(key[i], i),
                    lambda i: raw.set(prefix + "raw:" + key[i], str(i)),
                    ops,
                    n,
                )
            )
            lines.append(
                await compare(
                    f"redis get ({label})",
                    lambda i: RedisMap.get(key[i]),
                    lambda i: raw.get(prefix + "raw:" + key[i]),
                    ops,
                    n,
                )
            )
        keys = [k async for k in raw.scan_iter(match=prefix + "*")]
        if keys:
            await raw.delete(*keys)
    finally:
        await raw.aclose()
    return lines


async def raw_find(pool: asyncpg.Pool, sql: str, owner: str) -> list[Note]:
    """What a hand-written app does for ``find``: the query, then the models."""
    rows = await pool.fetch(sql, json.dumps(owner))
    return [Note.model_validate_json(row[1]) for row in rows[:20]]


async def bench_postgres(dsn: str, schema: str, ops: int, tasks: int) -> list[str]:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
    table = f'"{schema}"."raw_map"'
    notes = f'"{schema}"."col_PgNotes"'
    key = [f"k{i % 1000}" for i in range(ops)]
    upsert = (
        f"INSERT INTO {table} (key, value) VALUES ($1, $2) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
    )
    select = f"SELECT value FROM {table} WHERE key = $1"
    find = (
        f"SELECT key, document FROM {notes} WHERE (fields -> 'owner') = $1::jsonb "
        "ORDER BY key LIMIT 21"
    )
    lines = []
    try:
        await pool.execute(
            f'CREATE TABLE {table} (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL)'
        )
        for i in range(2000):
            await PgNotes.put(Note(id=f"{i:05d}", owner=f"o{i % 100}", body="x" * 100))
        for label, n in (("sequential", 1), (f"{tasks} tasks", tasks)):
            lines.append(
                await compare(
                    f"postgres set ({label})",
                    lambda i: PgMap.set(key[i], i),
                    lambda i: pool.execute(upsert, key[i], str(i).encode()),
                    ops,
                    n,
                )
            )
            lines.append(
                await compare(
                    f"postgres get ({label})",
                    lambda i: PgMap.get(key[i]),
                    lambda i: pool.fetchval(select, key[i]),
                    ops,
                    n,
                )
            )
            lines.append(
                await compare(
                    f"postgres find 20 ({label})",
                    lambda i: PgNotes.find(owner=f"o{i % 100}", limit=20),
                    lambda i: raw_find(pool, find, f"o{i % 100}"),
                    ops,
                    n,
                )
            )
    finally:
        await pool.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await pool.close()
    return lines


async def main(ops: int, tasks: int) -> None:
    redis_url = os.environ["SKAAL_TEST_REDIS_URL"]
    dsn = os.environ["SKAAL_TEST_POSTGRES_DSN"]
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    env = {
        "SKAAL_REDIS_URL": redis_url,
        "SKAAL_REDIS_PREFIX": f"bench:{uuid.uuid4().hex[:8]}:",
        "SKAAL_POSTGRES_DSN": dsn,
        "SKAAL_POSTGRES_SCHEMA": schema,
    }
    plan = solve(app.blueprint(), load_catalog(ROOT / "catalogs" / "local-servers.toml"))
    async with Runtime.open(app, plan, env=env, project_dir=ROOT):
        print(f"{ops} operations per row; ratios > 1 are Skaal's overhead")
        for line in await bench_redis(redis_url, ops, tasks):
            print(line)
        for line in await bench_postgres(dsn, schema, ops, tasks):
            print(line)
        raw = Redis.from_url(redis_url)
        keys = [k async for k in raw.scan_iter(match=env["SKAAL_REDIS_PREFIX"] + "*")]
        if keys:
            await raw.delete(*keys)
        await raw.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=5000)
    parser.add_argument("--tasks", type=int, default=16)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.ops, arguments.tasks))
