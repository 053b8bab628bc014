"""``skaal migrate``'s copy rate on real servers: SQLite -> PostgreSQL and Redis -> PostgreSQL.

For each case, a project plans a map ``Orders`` on the source backend
(``local-servers`` catalog), fills it with ``--items`` entries of about
``--value-bytes`` bytes each, re-plans it onto PostgreSQL (a pending move)
and times :func:`skaal.migrate.migrate` -- the whole command: the copy in
batches, the catch-up, the verification (both sides read and hashed again)
and the switch.  It prints one row per case: items, megabytes (keys and
encoded values), seconds, items/s and MB/s, best of ``--runs`` runs (each on
a fresh key prefix and schema, removed afterwards).

The planning estimate ``skaal plan`` prints for a move
(:data:`skaal.plan.moves.COPY_RATE_MB_S`) is the slowest of these rates,
rounded down; docs/migrate.md records the figures.

    source .ci/services/10-redis.sh; source .ci/services/20-postgres.sh  # or any servers
    python tests/benchmarks/migrate_bench.py [--items 20000] [--value-bytes 1000] [--json]

Reads ``SKAAL_TEST_REDIS_URL`` and ``SKAAL_TEST_POSTGRES_DSN``.  Not collected by
pytest (the file name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from skaal.catalog import load_catalog
from skaal.declare.app_ref import load_app
from skaal.migrate import DEFAULT_BATCH, migrate
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.runtime.runtime import Runtime

APP = """
from pydantic import BaseModel
from skaal import App, Map

app = App("bench")


class Order(BaseModel):
    id: str
    owner: str
    total: int
    note: str


@app.storage(size="1GB", durability="ephemeral")  # redis offers ephemeral only
class Orders(Map[str, Order]): ...
"""

FILL_CHUNK = 500


def _env(source: str) -> dict[str, str]:
    unique = uuid.uuid4().hex[:12]
    env = {
        "SKAAL_POSTGRES_DSN": os.environ["SKAAL_TEST_POSTGRES_DSN"],
        "SKAAL_POSTGRES_SCHEMA": f"bench_{unique}",
        "SKAAL_USED_RESOURCES": "Orders",
    }
    if source == "redis":
        env |= {"SKAAL_REDIS_URL": os.environ["SKAAL_TEST_REDIS_URL"]}
        env |= {"SKAAL_REDIS_PREFIX": f"bench:{unique}:"}
    return env


def _plan(project: Path, backend: str) -> None:
    app = load_app("bench_app.py:app", cwd=project)
    plan_blueprint(
        app.blueprint(),
        load_catalog("local-servers"),
        lock=FileLockStore(project / "skaal.lock"),
        pins={"Orders": backend},
    )


async def _fill(project: Path, env: dict[str, str], items: int, value_bytes: int) -> int:
    """Write the entries through the runtime; the bytes stored (keys and encoded values)."""
    app = load_app("bench_app.py:app", cwd=project)
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    order = sys.modules["bench_app"].Order
    async with Runtime.open(app, plan, env=env, project_dir=project) as runtime:
        store = runtime.store_named("Orders")
        client: Any = runtime.client_named("Orders")
        for start in range(0, items, FILL_CHUNK):
            keys = [f"order-{i:08}" for i in range(start, min(start + FILL_CHUNK, items))]
            await asyncio.gather(
                *(
                    client.set(key, order(id=key, owner="u", total=1, note="x" * value_bytes))
                    for key in keys
                )
            )
        total, after = 0, None
        while True:
            chunk = await store.scan(limit=1000, after=after)
            total += sum(len(k.encode()) + len(v) for k, v in chunk.items)
            if chunk.next is None:
                return total
            after = chunk.next


async def _drop(env: dict[str, str]) -> None:
    conn = await asyncpg.connect(env["SKAAL_POSTGRES_DSN"])
    await conn.execute(f'DROP SCHEMA IF EXISTS "{env["SKAAL_POSTGRES_SCHEMA"]}" CASCADE')
    await conn.close()
    if "SKAAL_REDIS_URL" in env:
        client = Redis.from_url(env["SKAAL_REDIS_URL"])
        keys = [k async for k in client.scan_iter(match=env["SKAAL_REDIS_PREFIX"] + "*")]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])
        await client.aclose()


async def _once(source: str, items: int, value_bytes: int, batch: int) -> tuple[int, float]:
    """(bytes copied, seconds of skaal migrate) for one fresh run."""
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        (project / "bench_app.py").write_text(APP)
        sys.path.insert(0, str(project))
        sys.modules.pop("bench_app", None)
        env = _env(source)
        try:
            _plan(project, source)
            size = await _fill(project, env, items, value_bytes)
            _plan(project, "postgres")
            app = load_app("bench_app.py:app", cwd=project)
            started = time.perf_counter()
            (result,) = await migrate(
                app.blueprint(), project / "skaal.lock", batch=batch, env=env, project_dir=project
            )
            took = time.perf_counter() - started
            if not result.switched or result.copied != items:
                raise SystemExit(f"the migration did not copy and switch every entry: {result}")
            return size, took
        finally:
            sys.path.remove(str(project))
            await _drop(env)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--value-bytes", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args()
    rows = []
    for source in ("sqlite", "redis"):
        best: tuple[int, float] | None = None
        for _ in range(args.runs):
            size, took = await _once(source, args.items, args.value_bytes, args.batch)
            if best is None or took < best[1]:
                best = (size, took)
        assert best is not None
        size, took = best
        rows.append(
            {
                "case": f"{source} -> postgres",
                "items": args.items,
                "mb": round(size / 2**20, 1),
                "seconds": round(took, 2),
                "items_per_s": round(args.items / took),
                "mb_per_s": round(size / 2**20 / took, 1),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'case':<22}{'items':>8}{'MB':>8}{'s':>8}{'items/s':>10}{'MB/s':>8}")
    for row in rows:
        print(
            f"{row['case']:<22}{row['items']:>8}{row['mb']:>8}{row['seconds']:>8}"
            f"{row['items_per_s']:>10}{row['mb_per_s']:>8}"
        )


if __name__ == "__main__":
    asyncio.run(main())
