"""The AWS backends beyond the conformance suite, against moto's server mode.

Needs SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh`` starts moto).
Every test uses a fresh name prefix, so tests never see each other's tables.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
import pytest_asyncio

from skaal import App, Map
from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.catalog.loader import load_catalog
from skaal.errors import SkaalRuntimeError
from skaal.runtime import Runtime
from skaal.runtime.backends import create_provider
from skaal.runtime.backends.aws_errors import AwsNotFoundError
from skaal.runtime.backends.dynamodb import PART_SIZE
from skaal.runtime.backends.s3 import MULTIPART_THRESHOLD
from skaal.runtime.ports import BackendSettings, SignsBlobUrls
from skaal.solver import solve
from skaal.testing import AppClient

pytestmark = pytest.mark.asyncio

ROOT = Path(__file__).resolve().parents[3]


def aws_env(*, create: bool = True) -> dict[str, str]:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    env = {
        "SKAAL_AWS_ENDPOINT_URL": endpoint,
        "SKAAL_AWS_NAME_PREFIX": f"t{uuid.uuid4().hex[:12]}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    if create:
        env["SKAAL_AWS_CREATE_TABLES"] = "1"
    return env


def raw(service: str, env: dict[str, str]) -> Any:
    return boto3.client(
        service,
        endpoint_url=env["SKAAL_AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def table_names(client: Any) -> list[str]:
    """Every table of a DynamoDB client's region, page by page (a server may hold over 100)."""
    pages = client.get_paginator("list_tables").paginate()
    return [name for page in pages for name in page["TableNames"]]


def spec(name: str, kind: Any, **extra: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=extra.pop("requirements", Requirements()),
        location=SourceLocation(file="test.py", line=1),
        **extra,
    )


async def open_provider(implementation: str, env: dict[str, str], tmp_path: Path) -> Any:
    settings = BackendSettings(
        app="moto", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=time.time
    )
    provider = create_provider(implementation, settings)
    await provider.open()
    return provider


@pytest_asyncio.fixture
async def dynamodb(tmp_path: Path) -> AsyncIterator[tuple[Any, dict[str, str]]]:
    env = aws_env()
    provider = await open_provider("dynamodb", env, tmp_path)
    yield provider, env
    await provider.close()


async def test_missing_table_names_the_fix_unless_creation_is_allowed(tmp_path: Path) -> None:
    provider = await open_provider("dynamodb", aws_env(create=False), tmp_path)
    with pytest.raises(AwsNotFoundError, match="does not exist") as err:
        await provider.key_value(spec("Carts", "map")).open()
    assert err.value.fix is not None
    assert "SKAAL_AWS_CREATE_TABLES=1" in err.value.fix
    await provider.close()


async def test_table_has_native_ttl_and_one_gsi_per_index(
    dynamodb: tuple[Any, dict[str, str]],
) -> None:
    provider, env = dynamodb
    kv = provider.key_value(spec("Carts", "map"))
    await kv.open()
    docs = provider.documents(spec("Todos", "collection", key_field="id", indexes=("owner", "n")))
    await docs.open()
    ddb = raw("dynamodb", env)
    ttl = ddb.describe_time_to_live(TableName=kv.table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "exp")
    table = ddb.describe_table(TableName=docs.table)["Table"]
    assert sorted(i["IndexName"] for i in table["GlobalSecondaryIndexes"]) == ["by_n", "by_owner"]
    ttl = ddb.describe_time_to_live(TableName=docs.table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "exp")
    assert kv.table == f"{env['SKAAL_AWS_NAME_PREFIX']}-moto-carts"


async def test_large_values_are_chunked_and_their_chunks_reclaimed(
    dynamodb: tuple[Any, dict[str, str]],
) -> None:
    provider, env = dynamodb
    kv = provider.key_value(spec("Big", "map"))
    await kv.open()
    ddb = raw("dynamodb", env)

    def items() -> int:
        pages = ddb.get_paginator("scan").paginate(TableName=kv.table, Select="COUNT")
        return sum(int(page["Count"]) for page in pages)

    big = bytes(range(256)) * (PART_SIZE // 256 * 3)
    await kv.set("k", big)
    assert items() == 1 + 3
    assert await kv.get("k") == big
    await kv.set("k", big[::-1])  # replaced: the old chunks go
    assert items() == 1 + 3
    assert await kv.get("k") == big[::-1]
    assert await kv.compare_and_set("k", big[::-1], b"small")
    assert items() == 1
    assert await kv.delete("k")
    assert items() == 0


async def test_compare_and_set_sees_through_counters(
    dynamodb: tuple[Any, dict[str, str]],
) -> None:
    provider, _ = dynamodb
    kv = provider.key_value(spec("Counters", "map"))
    await kv.open()
    assert await kv.increment("n", 5) == 5
    assert await kv.get("n") == b"5"
    assert not await kv.compare_and_set("n", b"4", b"9")
    assert await kv.compare_and_set("n", b"5", b"9")
    assert await kv.increment("n", 1) == 10  # a plain value becomes a counter again
    assert await kv.get_many(["n", "zz"]) == {"n": b"10"}


async def test_s3_multipart_metadata_and_presigned_urls(tmp_path: Path) -> None:
    env = aws_env()
    provider = await open_provider("s3", env, tmp_path)
    blobs = provider.blobs(spec("Uploads", "blob"))
    await blobs.open()
    data = os.urandom(MULTIPART_THRESHOLD * 2 + 123)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 1 << 20):
            yield data[i : i + (1 << 20)]

    info = await blobs.put("big.bin", chunks(), content_type="application/x-test", metadata={})
    assert info.size == len(data)
    assert info.etag.endswith("-3")  # three parts: 8 MiB, 8 MiB, the rest
    stream = await blobs.open_read("big.bin", chunk_size=1 << 22)
    assert stream is not None
    assert b"".join([c async for c in stream.chunks]) == data
    assert isinstance(blobs, SignsBlobUrls)
    url = await blobs.presigned_url("big.bin", expires=60)
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        assert response.status_code == 200
        assert response.content == data
        put_url = await blobs.presigned_url("up.txt", method="PUT")
        assert (await http.put(put_url, content=b"uploaded")).status_code == 200
    stat = await blobs.stat("up.txt")
    assert stat is not None
    assert stat.size == len(b"uploaded")
    await provider.close()


async def test_sqs_redrive_policy_moves_abandoned_messages_to_the_dlq(tmp_path: Path) -> None:
    env = aws_env()
    provider = await open_provider("sqs", env, tmp_path)
    queue = provider.queue(spec("Jobs", "queue", requirements=Requirements(max_attempts=2)))
    await queue.open()
    sqs = raw("sqs", env)
    attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["RedrivePolicy"])
    assert int(json.loads(attributes["Attributes"]["RedrivePolicy"])["maxReceiveCount"]) == 2
    await queue.send(b'{"n": 1}')
    for attempt in (1, 2):  # a consumer that dies: never acks, never fails
        (delivery,) = await queue.receive(max_messages=1, visibility_timeout=1)
        assert delivery.attempt == attempt
        time.sleep(1.1)
    assert await queue.receive(max_messages=1, visibility_timeout=1) == []
    (dead,) = await queue.dead_letters(limit=10)
    assert dead.body == b'{"n": 1}'
    assert "redrive" in dead.error
    assert await queue.depth() == 0
    assert len(await queue.dead_letters(limit=10)) == 1  # peeking does not consume
    await provider.close()


app = App("aws-app")


@app.storage(backend="dynamodb", durability="persistent")
class Counters(Map[str, int]):
    """Counters pinned to DynamoDB."""


@app.function()
async def hit(page: str) -> int:
    return await Counters.increment(page)


async def test_a_plan_binding_dynamodb_serves_the_map(tmp_path: Path) -> None:
    plan = solve(app.blueprint(), load_catalog(ROOT / "catalogs" / "aws.toml"))
    (binding,) = [b for b in plan.bindings if b.resource == "Counters"]
    assert binding.implementation == "dynamodb"
    env = aws_env()
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path) as runtime:
        assert await Counters.increment("home") == 1
        assert runtime._providers["dynamodb"].aws.region == binding.region
    async with AppClient(app, plan=plan, env=env, data_dir=tmp_path) as client:
        assert await client.call("hit", page="home") == 2
        response = await client.post("/fn/hit", json={"page": "home"})
        assert response.json() == 3
    table = f"{env['SKAAL_AWS_NAME_PREFIX']}-aws-app-counters"
    item = raw("dynamodb", env).get_item(
        TableName=table, Key={"pk": {"S": "home"}, "sk": {"N": "0"}}
    )
    assert item["Item"]["n"] == {"N": "3"}


async def test_ordered_queue_is_a_fifo_queue_in_strict_order(tmp_path: Path) -> None:
    env = aws_env()
    provider = await open_provider("sqs", env, tmp_path)
    queue = provider.queue(spec("Orders", "queue", requirements=Requirements(ordered=True)))
    await queue.open()
    assert queue.name.endswith("-moto-orders.fifo")
    assert queue.dlq_name.endswith("-moto-orders-dlq.fifo")
    for i in range(15):
        await queue.send(f'{{"n": {i}}}'.encode())
    first = await queue.receive(max_messages=15, visibility_timeout=30)
    # one group: while ten are in flight the rest wait, as SQS FIFO does
    assert [d.body for d in first] == [f'{{"n": {i}}}'.encode() for i in range(10)]
    await queue.dead_letter(first[0].id, error="bad order")
    for delivery in first[1:]:
        await queue.ack(delivery.id)
    rest = await queue.receive(max_messages=15, visibility_timeout=30)
    assert [d.body for d in rest] == [f'{{"n": {i}}}'.encode() for i in range(10, 15)]
    for delivery in rest:
        await queue.ack(delivery.id)
    assert await queue.depth() == 0
    (dead,) = await queue.dead_letters(limit=5)
    assert (dead.body, dead.error) == (b'{"n": 0}', "bad order")
    with pytest.raises(SkaalRuntimeError, match="FIFO queue"):
        await queue.send(b"{}", delay=5)
    await provider.close()
