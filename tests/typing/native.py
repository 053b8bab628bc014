"""User-style escape hatches; ``mypy --strict`` must infer each backend's real client.

Lines marked with an "error" comment are misuse that mypy must report (and
nothing else).  Those marked "error (needs DIST)" need the client's type
stubs, the distribution DIST (in the dev extra): without it the client is
``Any`` and mypy has nothing to report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, assert_type

import asyncpg
from google.cloud import firestore
from mypy_boto3_dynamodb import DynamoDBClient
from mypy_boto3_s3 import S3Client
from mypy_boto3_sns import SNSClient
from mypy_boto3_sqs import SQSClient
from pydantic import BaseModel
from redis.asyncio import Redis

from skaal import App, BlobStore, Collection, Map, Queue, Topic
from skaal.native import (
    DYNAMODB,
    FILESYSTEM,
    FIRESTORE,
    GCS,
    MEMORY,
    POSTGRES,
    PUBSUB,
    REDIS,
    S3,
    SNS,
    SQLITE,
    SQS,
    Native,
    PubsubClients,
    SqliteDatabase,
)
from skaal.runtime import Runtime
from skaal.runtime.backends.memory import MemoryDocuments, MemoryKeyValue, MemoryQueue, MemoryTopic

app = App("typed-native")


class Order(BaseModel):
    id: str
    total: int


@app.storage(backend="elasticache-redis")
class Leaderboard(Map[str, int]): ...


@app.storage()
class Orders(Collection[Order]): ...


@app.blob()
class Uploads(BlobStore): ...


@app.queue()
class Emails(Queue[str]): ...


@app.topic()
class Events(Topic[str]): ...


async def use() -> None:
    board = await Leaderboard.native(REDIS)
    assert_type(board, Native[Redis])
    assert_type(board.client, Redis)
    assert_type(board.name, str)
    await board.client.zadd(board.name + "weekly", {"ada": 42})

    assert_type((await Orders.native(POSTGRES)).client, asyncpg.Pool)
    assert_type((await Orders.native(DYNAMODB)).client, DynamoDBClient)
    assert_type((await Orders.native(FIRESTORE)).client, firestore.Client)
    assert_type((await Uploads.native(S3)).client, S3Client)
    assert_type((await Uploads.native(FILESYSTEM)).client, Path)
    assert_type((await Emails.native(SQS)).client, SQSClient)
    assert_type((await Events.native(SNS)).client, SNSClient)
    assert_type((await Events.native(PUBSUB)).client, PubsubClients)
    assert_type((await Uploads.native(GCS)).client, Any)  # google-cloud-storage is untyped

    database = (await Leaderboard.native(SQLITE)).client
    assert_type(database, SqliteDatabase)
    rows = await database.run(lambda conn: conn.execute("SELECT 1").fetchall())
    assert_type(rows, list[Any])
    store = (await Emails.native(MEMORY)).client
    assert_type(store, MemoryKeyValue | MemoryDocuments | MemoryQueue | MemoryTopic)

    anything = await Orders.native()
    assert_type(anything, Native[object])
    print(anything.backend, anything.names)


async def misuse() -> None:
    await Leaderboard.native(SQS)  # error: SQS serves queues, not maps
    await Uploads.native(REDIS)  # error: Redis holds no blobs
    await Events.native(DYNAMODB)  # error: DynamoDB has no topics
    await Leaderboard.native("redis")  # error: a marker, not a name
    board = await Leaderboard.native(REDIS)
    board.client.put_item(TableName="t", Item={})  # error: a Redis client has no put_item
    board.name = "elsewhere"  # error: the record is frozen
    anything = await Orders.native()
    anything.client.fetch("SELECT 1")  # error: an unchecked client is an object
    pool = (await Orders.native(POSTGRES)).client
    await pool.zadd("k", {"a": 1})  # error (needs asyncpg-stubs): a Pool has no zadd
    table = (await Orders.native(DYNAMODB)).client
    table.get_item(TableName=1)  # error (needs mypy-boto3-dynamodb): a table name is a str


async def in_a_test(runtime: Runtime) -> None:
    assert_type((await runtime.native(Leaderboard, REDIS)).client, Redis)
    assert_type(await runtime.native(Emails), Native[object])
    await runtime.native(Uploads, SQS)  # error: SQS holds no blobs
