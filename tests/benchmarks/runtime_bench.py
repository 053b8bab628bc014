"""Data-plane throughput: Map get/set through Skaal vs the raw driver, same run.

* **In-memory Map**: ``await Counter.get/set`` through the class facade (the
  path user code takes: active-runtime lookup, key/value codecs, backend) in
  one task; target >= 200k ops/s.
* **SQLite Map**: the same get/set workload through Skaal (durable:
  ``synchronous=FULL``, WAL) against raw ``sqlite3`` running the same
  statements on an identically configured file, measured two ways:

  - *fair* (like for like): the raw driver does what Skaal does -- point
    reads inline on a second, ``query_only`` connection, writes shipped to
    one writer thread (an fsync must not block the event loop).  Target
    ratio <= 1.3, in wall-clock throughput and in the process's CPU time
    per operation (the second stays meaningful on a shared, loaded machine).
  - *blocking*: every statement inline on one connection, writes included
    (the fastest possible, but it stalls the event loop for every fsync, so
    an async server must not do it).  Shown for reference only.

    python tests/benchmarks/runtime_bench.py [--ops 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.serve.dashboard.traces import local_telemetry
from skaal.solver import solve

app = App("bench")


@app.storage(durability="ephemeral")
class Hot(Map[str, int]): ...


@app.storage(durability="durable")
class Durable(Map[str, int]): ...


async def skaal_ops(cls: type[Map[str, int]], ops: int, writes: bool) -> tuple[float, float]:
    """``(operations per second, CPU microseconds per operation)``."""
    keys = [f"k{i % 1000}" for i in range(ops)]
    start, cpu = time.perf_counter(), time.process_time()
    if writes:
        for i, key in enumerate(keys):
            await cls.set(key, i)
    else:
        for key in keys:
            await cls.get(key)
    return ops / (time.perf_counter() - start), (time.process_time() - cpu) / ops * 1e6


PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=5000")


def raw_connection(path: Path, *, query_only: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    if query_only:
        conn.execute("PRAGMA query_only=1")
    else:
        conn.execute(
            'CREATE TABLE IF NOT EXISTS "map:Raw" '
            "(key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL) WITHOUT ROWID"
        )
    return conn


GET = 'SELECT value FROM "map:Raw" WHERE key = ? AND (expires IS NULL OR expires > ?)'
SET = (
    'INSERT INTO "map:Raw" (key, value, expires) VALUES (?, ?, ?) '
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires"
)


async def raw_ops(
    writer: sqlite3.Connection, reader: sqlite3.Connection, ops: int, writes: bool, fair: bool
) -> tuple[float, float]:
    """Raw ``sqlite3``: ``fair`` = Skaal's placement (reads inline, writes on a thread)."""
    keys = [f"k{i % 1000}" for i in range(ops)]
    pool = ThreadPoolExecutor(max_workers=1) if fair else None
    loop = asyncio.get_running_loop()
    read_conn = reader if fair else writer

    def get(key: str) -> object:
        rows = read_conn.execute(GET, (key, time.time())).fetchall()
        return int(bytes(rows[0][0])) if rows else None

    def put(key: str, value: int) -> None:
        writer.execute(SET, (key, str(value).encode(), None))

    start, cpu = time.perf_counter(), time.process_time()
    for i, key in enumerate(keys):
        if not writes:
            get(key)
        elif pool is None:
            put(key, i)
        else:
            await loop.run_in_executor(pool, put, key, i)
    rate = ops / (time.perf_counter() - start), (time.process_time() - cpu) / ops * 1e6
    if pool is not None:
        pool.shutdown()
    return rate


async def traced(ops: int, untraced_get: float) -> None:
    """The in-memory Map get with a span per operation (the runtime ``skaal run`` opens)."""

    tracing = local_telemetry()
    if tracing is None:
        print("tracing: opentelemetry-sdk is not installed (pip install 'skaal[telemetry]')")
        return
    plan = solve(app.blueprint(), load_catalog("local"))
    with tempfile.TemporaryDirectory() as tmp:
        async with Runtime.open(app, plan, data_dir=tmp, env={}, telemetry=tracing[0]):
            await skaal_ops(Hot, 1000, writes=True)
            rate = max([(await skaal_ops(Hot, ops, writes=False))[0] for _ in range(3)])
    print(
        f"in-memory Map get, traced: {rate:,.0f} ops/s "
        f"({1e6 / rate - 1e6 / untraced_get:.1f} us a span; tracing off: no wrapper, no cost)"
    )


async def main(ops: int) -> None:
    plan = solve(app.blueprint(), load_catalog("local"))
    assert plan.binding("Hot").implementation == "memory"
    assert plan.binding("Durable").implementation == "sqlite"
    with tempfile.TemporaryDirectory() as tmp:
        async with Runtime.open(app, plan, data_dir=tmp, env={}):
            await skaal_ops(Hot, 1000, writes=True)
            mem_set = max([(await skaal_ops(Hot, ops * 5, writes=True))[0] for _ in range(3)])
            mem_get = max([(await skaal_ops(Hot, ops * 5, writes=False))[0] for _ in range(3)])
            print(f"in-memory Map, one task: set {mem_set:,.0f} ops/s, get {mem_get:,.0f} ops/s")
            await traced(ops, mem_get)
            writer = raw_connection(Path(tmp) / "raw.sqlite3")
            reader = raw_connection(Path(tmp) / "raw.sqlite3", query_only=True)
            await raw_ops(writer, reader, 1000, writes=True, fair=False)
            await skaal_ops(Durable, 1000, writes=True)
            for label, writes, n in (("set", True, ops // 4), ("get", False, ops)):
                runs: dict[str, list[tuple[float, float]]] = {"skaal": [], "fair": [], "block": []}
                for _ in range(3):  # alternating rounds: the machine may be shared
                    runs["skaal"].append(await skaal_ops(Durable, n, writes))
                    runs["fair"].append(await raw_ops(writer, reader, n, writes, True))
                    runs["block"].append(await raw_ops(writer, reader, n, writes, False))
                skaal, fair, block = (
                    max(r[0] for r in runs[k]) for k in ("skaal", "fair", "block")
                )
                cpu_skaal, cpu_fair = (min(r[1] for r in runs[k]) for k in ("skaal", "fair"))
                print(
                    f"sqlite Map {label}: skaal {skaal:,.0f}/s | raw, same placement "
                    f"{fair:,.0f}/s (fair ratio {fair / skaal:.2f}x, target <= 1.3; CPU/op "
                    f"{cpu_skaal:.1f} vs {cpu_fair:.1f} us, {cpu_skaal / cpu_fair:.2f}x) | "
                    f"raw, all blocking the loop {block:,.0f}/s (ratio {block / skaal:.2f}x)"
                )
            reader.close()
            writer.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=20000)
    asyncio.run(main(parser.parse_args().ops))
