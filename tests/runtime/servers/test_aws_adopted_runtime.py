"""A Map and a BlobStore adopting an existing DynamoDB table and S3 bucket, against moto.

The table and bucket are created beforehand with boto3 (as an account that
already has them would); the app adopts them with ``existing=``, is planned
on the bundled aws catalog, and its runtime reads and writes exactly them,
whatever the name prefix -- and never creates one that is missing, even when
tests let the backends create their resources.  Needs
SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from skaal import App, BlobStore, Map
from skaal.catalog.loader import load_catalog
from skaal.errors import SkaalRuntimeError
from skaal.runtime import Runtime
from skaal.solver import solve
from tests.runtime.servers.test_aws_moto import aws_env, raw, table_names

pytestmark = pytest.mark.asyncio


def _app(table: str, bucket: str) -> tuple[App, type[Map[str, int]], type[BlobStore]]:
    app = App("legacy")

    @app.storage(existing=f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}")
    class Carts(Map[str, int]): ...

    @app.blob(existing=bucket)
    class Images(BlobStore): ...

    return app, Carts, Images


def _table(env: dict[str, str], name: str) -> None:
    raw("dynamodb", env).create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_the_runtime_uses_the_adopted_table_and_bucket(tmp_path: Path) -> None:
    env = aws_env()  # SKAAL_AWS_CREATE_TABLES=1: it must not matter for adopted resources
    table, bucket = f"legacy-carts-{uuid.uuid4().hex[:8]}", f"legacy-img-{uuid.uuid4().hex[:8]}"
    _table(env, table)
    raw("s3", env).create_bucket(Bucket=bucket)
    app, carts, images = _app(table, bucket)
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert (plan.binding("Carts").adopted, plan.binding("Images").adopted) == (table, bucket)
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path) as runtime:
        cart: Map[str, int] = runtime.client(carts)
        await cart.set("alice", 3)
        assert await cart.get("alice") == 3
        blobs = runtime.client(images)
        await blobs.put("logo.png", _chunks(b"png"), content_type="image/png")
    items = raw("dynamodb", env).scan(TableName=table)["Items"]
    assert [item["pk"]["S"] for item in items] == ["alice"]
    listed = raw("s3", env).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["logo.png"]
    created = table_names(raw("dynamodb", env))
    assert not [name for name in created if name.startswith(env["SKAAL_AWS_NAME_PREFIX"])]


async def test_a_missing_adopted_table_is_an_error_not_created(tmp_path: Path) -> None:
    env = aws_env()
    table = f"gone-{uuid.uuid4().hex[:8]}"
    bucket = f"legacy-img-{uuid.uuid4().hex[:8]}"
    raw("s3", env).create_bucket(Bucket=bucket)
    app, _, _ = _app(table, bucket)
    plan = solve(app.blueprint(), load_catalog("aws"))
    with pytest.raises(SkaalRuntimeError, match="adopts it \\(existing=\\): Skaal never creates"):
        async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
            pass
    assert table not in table_names(raw("dynamodb", env))


async def test_an_adopted_table_with_another_key_schema_is_refused(tmp_path: Path) -> None:
    env = aws_env()
    table, bucket = f"other-{uuid.uuid4().hex[:8]}", f"legacy-img-{uuid.uuid4().hex[:8]}"
    raw("dynamodb", env).create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    raw("s3", env).create_bucket(Bucket=bucket)
    app, _, _ = _app(table, bucket)
    plan = solve(app.blueprint(), load_catalog("aws"))
    with pytest.raises(SkaalRuntimeError, match="is keyed by id, not by pk \\(HASH\\), sk"):
        async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
            pass
