"""Escape hatches: the real client behind a resource, typed per backend.

``await Leaderboard.native(REDIS)`` hands back a :class:`Native` record: the
client Skaal itself talks to (here a ``redis.asyncio.Redis``), and the
physical name of this resource's data on it (here the key prefix every one of
its keys starts with), so a native command -- a ``ZADD``, a SQL query, a
DynamoDB transaction -- touches exactly this resource::

    from skaal.native import REDIS

    hatch = await Leaderboard.native(REDIS)
    await hatch.client.zadd(hatch.name + "weekly", {"ada": 42})

The argument is a *backend marker*, one per implementation below.  It does
two jobs: for the type checker it carries the client's type, so
``hatch.client`` is a ``Redis`` and not ``object``; at run time the runtime
compares it with the plan's binding and raises
:class:`~skaal.runtime.errors.WrongBackendError` (naming the resource, the
backend it is bound to and the fix) when the plan put the resource
elsewhere.  A marker rather than the client class itself, because several
clients exist only for the type checker (boto3's are made at run time from
JSON models; their classes come from the ``mypy-boto3-*`` stubs).  Markers
also name the kinds they serve, so ``Carts.native(SQS)`` on a ``Map`` is a
type error.  ``await Carts.native()`` without a marker returns the record
typed ``Native[object]``, for code that inspects ``backend`` first.

Clients, by implementation (``client`` / ``name``):

* ``memory``: the store object itself (the data are Python objects in the
  runtime; its methods are the backend port, on encoded keys and bytes) /
  the resource's name;
* ``sqlite``: a :class:`SqliteDatabase` running functions of a
  ``sqlite3.Connection`` on the file's database thread / the quoted table;
* ``filesystem``: the ``pathlib.Path`` of the resource's directory / that path;
* ``redis``: ``redis.asyncio.Redis`` / the key prefix of the resource;
* ``postgres``: ``asyncpg.Pool`` / the quoted, schema-qualified table;
* ``dynamodb``, ``s3``, ``sqs``, ``sns``: the boto3 client (synchronous) /
  the table, the bucket, the queue URL, the topic ARN;
* ``firestore``, ``gcs``: ``google.cloud.firestore.Client``,
  ``google.cloud.storage.Client`` (synchronous) / the collection, the bucket;
* ``pubsub``: :class:`PubsubClients` (publisher and subscriber) / the topic path.

``names`` has every physical name the resource uses, by role (a queue's
dead letters, a map's key index...).  Nothing here imports a client library:
the types are for the type checker only.  The record and the marker type live
in :mod:`skaal.declare.native`, below the runtime, which builds the records and
finds a marker by name (:func:`marker_of`) without importing this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, TypeAlias

from skaal.declare.native import Backend, Native, PubsubClients, SqliteDatabase, marker_of

if TYPE_CHECKING:
    from pathlib import Path

    import asyncpg
    from google.cloud import firestore
    from google.cloud.storage import Client as StorageClient  # type: ignore[import-untyped]
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from redis.asyncio import Redis

    from skaal.declare.resources import BlobStore, Collection, Map, Queue, Topic
    from skaal.runtime.backends.memory import (
        MemoryDocuments,
        MemoryKeyValue,
        MemoryQueue,
        MemoryTopic,
    )

    MemoryStore: TypeAlias = MemoryKeyValue | MemoryDocuments | MemoryQueue | MemoryTopic
    """What ``native(MEMORY)`` hands out: the resource's store object."""

__all__ = [
    "DYNAMODB",
    "FILESYSTEM",
    "FIRESTORE",
    "GCS",
    "MARKERS",
    "MEMORY",
    "POSTGRES",
    "PUBSUB",
    "REDIS",
    "S3",
    "SNS",
    "SQLITE",
    "SQS",
    "Backend",
    "Native",
    "PubsubClients",
    "SqliteDatabase",
    "marker_of",
]


#: Each marker's client type and the resource classes its implementation serves
#: (the kinds of its registry record: tests/runtime/test_native.py checks them).
MEMORY: Final[Backend[MemoryStore, Map[Any, Any] | Collection[Any] | Queue[Any] | Topic[Any]]] = (
    Backend("memory", "MEMORY")
)
SQLITE: Final[
    Backend[SqliteDatabase, Map[Any, Any] | Collection[Any] | Queue[Any] | Topic[Any]]
] = Backend("sqlite", "SQLITE")
FILESYSTEM: Final[Backend[Path, BlobStore]] = Backend("filesystem", "FILESYSTEM")
REDIS: Final[Backend[Redis, Map[Any, Any] | Queue[Any] | Topic[Any]]] = Backend("redis", "REDIS")
POSTGRES: Final[Backend[asyncpg.Pool, Map[Any, Any] | Collection[Any] | Queue[Any]]] = Backend(
    "postgres", "POSTGRES"
)
DYNAMODB: Final[Backend[DynamoDBClient, Map[Any, Any] | Collection[Any]]] = Backend(
    "dynamodb", "DYNAMODB"
)
S3: Final[Backend[S3Client, BlobStore]] = Backend("s3", "S3")
SQS: Final[Backend[SQSClient, Queue[Any]]] = Backend("sqs", "SQS")
SNS: Final[Backend[SNSClient, Topic[Any]]] = Backend("sns", "SNS")
FIRESTORE: Final[Backend[firestore.Client, Map[Any, Any] | Collection[Any]]] = Backend(
    "firestore", "FIRESTORE"
)
GCS: Final[Backend[StorageClient, BlobStore]] = Backend("gcs", "GCS")
PUBSUB: Final[Backend[PubsubClients, Queue[Any] | Topic[Any]]] = Backend("pubsub", "PUBSUB")

#: Every marker.
MARKERS: Final[tuple[Backend[Any, Any], ...]] = (
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
)
