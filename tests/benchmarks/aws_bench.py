"""DynamoDB Map get/set through Skaal vs raw boto3, in the same run against one endpoint.

Skaal's side is the path user code takes (``await Carts.get(key)``: active
runtime lookup, key and value codecs, the DynamoDB backend, boto3 on the
AWS thread pool).  The raw side is what a hand-written app would do with
boto3 on the same table: ``get_item`` / ``put_item`` with the same key
shape, called directly (sequential) or from a thread pool of ``--tasks``
threads (concurrent).  Ratio = Skaal time / raw time.

    source .ci/services/30-moto.sh        # or any DynamoDB endpoint
    python tests/benchmarks/aws_bench.py [--ops 1000] [--tasks 16]

Reads ``SKAAL_TEST_AWS_ENDPOINT_URL``.  Against moto most of the time is the
emulator's own request handling, so the ratio is a lower bound on overhead
visibility; against real DynamoDB network latency dominates both sides.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.runtime import Runtime
from skaal.solver import solve

ROOT = Path(__file__).resolve().parents[2]

app = App("aws-bench")


@app.storage(backend="dynamodb")
class Carts(Map[str, int]): ...


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await fn()
    return time.perf_counter() - start


async def main(ops: int, tasks: int) -> dict[str, Any]:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        raise SystemExit("SKAAL_TEST_AWS_ENDPOINT_URL not set (source .ci/services/30-moto.sh)")
    env = {
        "SKAAL_AWS_ENDPOINT_URL": endpoint,
        "SKAAL_AWS_CREATE_TABLES": "1",
        "SKAAL_AWS_NAME_PREFIX": f"b{uuid.uuid4().hex[:8]}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    plan = solve(app.blueprint(), load_catalog(ROOT / "catalogs" / "aws.toml"))
    keys = [f"k{i:06d}" for i in range(ops)]
    raw = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=max(10, tasks)),
    )
    table = f"{env['SKAAL_AWS_NAME_PREFIX']}-aws-bench-carts"
    results: dict[str, Any] = {"ops": ops, "tasks": tasks}
    async with Runtime.open(app, plan, env=env, project_dir=Path.cwd()):
        await Carts.set("warm", 0)
        raw.get_item(TableName=table, Key={"pk": {"S": "warm"}, "sk": {"N": "0"}})

        def raw_set(k: str) -> None:
            raw.put_item(TableName=table, Item={"pk": {"S": k}, "sk": {"N": "0"}, "v": {"B": b"1"}})

        def raw_get(k: str) -> None:
            raw.get_item(
                TableName=table, Key={"pk": {"S": k}, "sk": {"N": "0"}}, ConsistentRead=True
            )

        async def seq_raw(fn: Callable[[str], None]) -> None:
            for k in keys:
                fn(k)

        async def par_raw(fn: Callable[[str], None]) -> None:
            with ThreadPoolExecutor(tasks) as pool:
                list(pool.map(fn, keys))

        async def seq_skaal_set() -> None:
            for k in keys:
                await Carts.set(k, 1)

        async def seq_skaal_get() -> None:
            for k in keys:
                await Carts.get(k)

        async def par_skaal(fn: Callable[[str], Awaitable[object]]) -> None:
            queue = list(keys)

            async def worker() -> None:
                while queue:
                    await fn(queue.pop())

            await asyncio.gather(*(worker() for _ in range(tasks)))

        rows = {
            "set sequential": (seq_skaal_set, lambda: seq_raw(raw_set)),
            "get sequential": (seq_skaal_get, lambda: seq_raw(raw_get)),
            "set concurrent": (
                lambda: par_skaal(lambda k: Carts.set(k, 1)),
                lambda: par_raw(raw_set),
            ),
            "get concurrent": (lambda: par_skaal(Carts.get), lambda: par_raw(raw_get)),
        }
        for name, (skaal_fn, raw_fn) in rows.items():
            # raw, skaal, skaal, raw: the best of two each, so order and warm-up cancel out
            raw_1, skaal_1, skaal_2, raw_2 = [
                await timed(fn) for fn in (raw_fn, skaal_fn, skaal_fn, raw_fn)
            ]
            raw_s, skaal_s = min(raw_1, raw_2), min(skaal_1, skaal_2)
            results[name] = {
                "skaal_ops_s": round(ops / skaal_s),
                "raw_ops_s": round(ops / raw_s),
                "ratio": round(skaal_s / raw_s, 2),
            }
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=16)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.ops, args.tasks)), indent=2))
