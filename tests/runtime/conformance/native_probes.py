"""Native commands per backend, as a user of ``skaal.native`` would write them.

Each probe reads or writes one resource's data through the client that
``store.native()`` hands out, naming only the physical names in the record
-- never a private attribute of the store.  The conformance test
(``test_conformance_native.py``) checks, through these, that native commands
see what Skaal wrote and Skaal sees what they wrote, for that resource alone.
The boto3 and Google clients are synchronous, so their calls run on a thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from google.cloud import firestore, storage
from google.cloud.firestore_v1.base_query import FieldFilter
from redis.asyncio import Redis

from skaal.native import Native, PubsubClients, SqliteDatabase
from skaal.runtime.backends import memory

Read = Callable[[Native[Any], str], Awaitable[bytes | None]]
Write = Callable[[Native[Any], str, bytes], Awaitable[None]]


def client_type(implementation: str) -> tuple[type, ...]:
    """The class(es) of the client ``native()`` must return for ``implementation``."""
    match implementation:
        case "memory":
            return (
                memory.MemoryKeyValue,
                memory.MemoryDocuments,
                memory.MemoryQueue,
                memory.MemoryTopic,
            )
        case "sqlite":
            return (SqliteDatabase,)
        case "filesystem":
            return (Path,)
        case "redis":
            return (Redis,)
        case "postgres":
            return (asyncpg.Pool,)
        case "dynamodb" | "s3" | "sqs" | "sns":
            return (BaseClient,)
        case "firestore":
            return (firestore.Client,)
        case "gcs":
            return (storage.Client,)
        case "pubsub":
            return (PubsubClients,)
    raise AssertionError(f"no client type for {implementation}")


def boto_service(native: Native[Any]) -> str:
    return str(native.client.meta.service_model.service_name)


# -- maps: read and write one entry's stored bytes ------------------------------------


async def _map_read(native: Native[Any], key: str) -> bytes | None:
    c, name = native.client, native.name
    match native.backend:
        case "memory":
            found: bytes | None = await c.get(key)
            return found
        case "sqlite":
            sql = f"SELECT value FROM {name} WHERE key = ?"
            row = await c.run(lambda conn: conn.execute(sql, (key,)).fetchone())
            return None if row is None else bytes(row[0])
        case "redis":
            value = await c.get(native.names["values"] + key)
            return None if value is None else bytes(value)
        case "postgres":
            value = await c.fetchval(f"SELECT value FROM {name} WHERE key = $1", key)
            return None if value is None else bytes(value)
        case "dynamodb":
            got = await asyncio.to_thread(
                c.get_item,
                TableName=name,
                Key={"pk": {"S": key}, "sk": {"N": "0"}},
                ConsistentRead=True,
            )
            item = got.get("Item")
            return None if item is None else bytes(item["v"]["B"])
        case "firestore":
            query = c.collection(name).where(filter=FieldFilter("k", "==", key))
            docs = await asyncio.to_thread(query.get)
            return bytes(docs[0].to_dict()["v"]) if docs else None
    raise AssertionError(native.backend)


async def _map_write(native: Native[Any], key: str, value: bytes) -> None:
    c, name = native.client, native.name
    match native.backend:
        case "memory":
            await c.set(key, value)
        case "sqlite":
            sql = f"INSERT INTO {name} (key, value) VALUES (?, ?)"
            await c.run(lambda conn: conn.execute(sql, (key, value)))
        case "redis":
            async with c.pipeline(transaction=True) as pipe:
                pipe.set(native.names["values"] + key, value)
                pipe.zadd(native.names["index"], {key: 0})
                await pipe.execute()
        case "postgres":
            await c.execute(f"INSERT INTO {name} (key, value) VALUES ($1, $2)", key, value)
        case "dynamodb":
            item = {"pk": {"S": key}, "sk": {"N": "0"}, "v": {"B": value}}
            await asyncio.to_thread(c.put_item, TableName=name, Item=item)
        case "firestore":
            document = c.collection(name).document("k" + key)
            await asyncio.to_thread(document.set, {"k": key, "v": value})
        case _:
            raise AssertionError(native.backend)


MAP: tuple[Read, Write] = (_map_read, _map_write)


# -- collections: one document's stored bytes ------------------------------------------


async def _doc_read(native: Native[Any], key: str) -> bytes | None:
    c, name = native.client, native.name
    match native.backend:
        case "memory":
            found: bytes | None = await c.get(key)
            return found
        case "sqlite":
            sql = f"SELECT body FROM {name} WHERE key = ?"
            row = await c.run(lambda conn: conn.execute(sql, (key,)).fetchone())
            return None if row is None else bytes(row[0])
        case "postgres":
            value = await c.fetchval(f"SELECT document FROM {name} WHERE key = $1", key)
            return None if value is None else bytes(value)
        case "dynamodb":
            got = await asyncio.to_thread(
                c.get_item, TableName=name, Key={"pk": {"S": key}}, ConsistentRead=True
            )
            item = got.get("Item")
            return None if item is None else bytes(item["d"]["B"])
        case "firestore":
            snap = await asyncio.to_thread(c.collection(name).document("k" + key).get)
            return bytes(snap.to_dict()["d"]) if snap.exists else None
    raise AssertionError(native.backend)


async def _doc_write(native: Native[Any], key: str, document: bytes) -> None:
    c, name = native.client, native.name
    fields = json.loads(document)
    match native.backend:
        case "memory":
            await c.put(key, document, fields)
        case "sqlite":
            sql = f"INSERT INTO {name} (key, body, fields) VALUES (?, ?, ?)"
            text = json.dumps(fields)
            await c.run(lambda conn: conn.execute(sql, (key, document, text)))
        case "postgres":
            await c.execute(
                f"INSERT INTO {name} (key, document, fields) VALUES ($1, $2, $3::jsonb)",
                key,
                document,
                json.dumps(fields),
            )
        case "dynamodb":
            item = {"pk": {"S": key}, "d": {"B": document}}
            await asyncio.to_thread(c.put_item, TableName=name, Item=item)
        case "firestore":
            body = {"k": key, "d": document, "x": fields}
            await asyncio.to_thread(c.collection(name).document("k" + key).set, body)
        case _:
            raise AssertionError(native.backend)


DOCUMENTS: tuple[Read, Write] = (_doc_read, _doc_write)


# -- blobs: one object's content --------------------------------------------------------


async def _blob_read(native: Native[Any], key: str) -> bytes | None:
    c, name = native.client, native.name
    match native.backend:
        case "filesystem":
            path = Path(name) / f"{key}%f"
            return path.read_bytes() if path.exists() else None
        case "s3":
            try:
                got = await asyncio.to_thread(c.get_object, Bucket=name, Key=key)
            except ClientError:
                return None
            return bytes(got["Body"].read())
        case "gcs":
            blob = await asyncio.to_thread(c.bucket(name).get_blob, key)
            return None if blob is None else bytes(await asyncio.to_thread(blob.download_as_bytes))
    raise AssertionError(native.backend)


async def _blob_write(native: Native[Any], key: str, data: bytes) -> None:
    """A new object (S3, Cloud Storage); on the filesystem, deleting one (its files)."""
    c, name = native.client, native.name
    match native.backend:
        case "filesystem":
            for suffix in ("%f", "%m"):
                (Path(name) / f"{key}{suffix}").unlink()
        case "s3":
            await asyncio.to_thread(
                c.put_object, Bucket=name, Key=key, Body=data, ContentType="text/plain"
            )
        case "gcs":
            blob = c.bucket(name).blob(key)
            await asyncio.to_thread(blob.upload_from_string, data, content_type="text/plain")
        case _:
            raise AssertionError(native.backend)


BLOBS: tuple[Read, Write] = (_blob_read, _blob_write)


# -- queues: the bodies waiting, and one more sent natively ------------------------------


async def queue_bodies(native: Native[Any]) -> list[bytes]:
    """The bodies of the messages waiting in the queue, read natively (left in place)."""
    c, name = native.client, native.name
    match native.backend:
        case "memory":
            return [d.body for d in await c.receive(max_messages=10, visibility_timeout=0.0)]
        case "sqlite":
            rows = await c.run(lambda conn: conn.execute(f"SELECT body FROM {name}").fetchall())
            return [bytes(r[0]) for r in rows]
        case "postgres":
            return [bytes(r["body"]) for r in await c.fetch(f"SELECT body FROM {name}")]
        case "redis":
            return [bytes(v) for v in await c.hvals(native.names["messages"])]
        case "sqs":
            got = await asyncio.to_thread(
                c.receive_message, QueueUrl=name, MaxNumberOfMessages=10, VisibilityTimeout=0
            )
            return [m["Body"].encode() for m in got.get("Messages", [])]
        case "pubsub":
            subscription = native.names["subscription"]
            request = {"subscription": subscription, "max_messages": 10}
            pulled = await asyncio.to_thread(c.subscriber.pull, request=request, timeout=10)
            received = list(pulled.received_messages)
            if received:  # back to the queue at once
                await asyncio.to_thread(
                    c.subscriber.modify_ack_deadline,
                    request={
                        "subscription": subscription,
                        "ack_ids": [r.ack_id for r in received],
                        "ack_deadline_seconds": 0,
                    },
                )
            return [bytes(r.message.data) for r in received]
    raise AssertionError(native.backend)


async def queue_send(native: Native[Any], body: bytes) -> None:
    c, name = native.client, native.name
    match native.backend:
        case "memory":
            await c.send(body)
        case "sqlite":
            sql = f"INSERT INTO {name} (body, visible_at) VALUES (?, 0)"
            await c.run(lambda conn: conn.execute(sql, (body,)))
        case "postgres":
            await c.execute(f"INSERT INTO {name} (body, visible_at) VALUES ($1, 0)", body)
        case "redis":
            ident = f"{await c.incr(native.names['sequence']):016d}"
            async with c.pipeline(transaction=True) as pipe:
                pipe.hset(native.names["messages"], ident, body)
                pipe.zadd(native.names["ready"], {ident: 0})
                await pipe.execute()
        case "sqs":
            await asyncio.to_thread(c.send_message, QueueUrl=name, MessageBody=body.decode())
        case "pubsub":
            await asyncio.to_thread(lambda: c.publisher.publish(name, body).result(timeout=10))
        case _:
            raise AssertionError(native.backend)


# -- topics: the subscriptions, and a message published natively ------------------------


async def topic_subscriptions(native: Native[Any]) -> list[str]:
    """The names of the topic's subscriptions as the backend knows them."""
    c, name = native.client, native.name
    match native.backend:
        case "memory":
            return list(c.subscriptions)
        case "sqlite":
            sql = f"SELECT name FROM {native.names['subscriptions']}"
            return [str(r[0]) for r in await c.run(lambda conn: conn.execute(sql).fetchall())]
        case "redis":
            return [str(g["name"].decode()) for g in await c.xinfo_groups(name)]
        case "sns":
            got = await asyncio.to_thread(c.list_subscriptions_by_topic, TopicArn=name)
            return [str(s["Endpoint"]) for s in got["Subscriptions"]]
        case "pubsub":
            found = await asyncio.to_thread(
                c.publisher.list_topic_subscriptions, request={"topic": name}
            )
            return [str(s) for s in found]
    raise AssertionError(native.backend)


async def topic_publish(native: Native[Any], body: bytes) -> None:
    c, name = native.client, native.name
    match native.backend:
        case "memory":
            await c.publish(body)
        case "sqlite":
            sql = f"INSERT INTO {name} (body) VALUES (?)"
            await c.run(lambda conn: conn.execute(sql, (body,)))
        case "redis":
            await c.xadd(name, {"b": body})
        case "sns":
            await asyncio.to_thread(c.publish, TopicArn=name, Message=body.decode())
        case "pubsub":
            await asyncio.to_thread(lambda: c.publisher.publish(name, body).result(timeout=10))
        case _:
            raise AssertionError(native.backend)
