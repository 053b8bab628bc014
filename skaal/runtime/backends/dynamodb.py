"""The ``dynamodb`` backend: ``Map`` on Amazon DynamoDB (``Collection`` in aws_dynamodb_docs).

One table per resource, named by :mod:`skaal.plan.naming`, with key
``(pk: S, sk: N)``.  A map entry is the item ``sk = 0`` of partition ``pk =
key`` and holds exactly one of:

- ``v`` (B): the value, when it fits in an item (≤ 350,000 bytes);
- ``n`` (N): a counter written by ``increment`` -- ``UpdateItem ADD`` is
  atomic on the server, so concurrent increments never lose an update; it
  reads back as the JSON integer it stands for;
- ``parts``/``base`` (N) and ``h`` (B, SHA-256 of the value): a large value
  (DynamoDB items stop at 400 KB), stored as ``parts`` items ``sk = base + 1
  ... base + parts`` in the same partition.  ``base`` is random per write, so
  two writers of one key never mix their chunks; the chunks of the value a
  ``set``/``delete`` replaces are deleted after the new item is in place.

TTL: ``exp`` (N, epoch seconds of the injected clock) is the table's native
TTL attribute, so DynamoDB deletes expired items eventually (within days, and
emulators may never do it); every read also treats ``exp <= now`` as absent,
so the semantics hold exactly.

``compare_and_set`` is one conditional ``PutItem`` (``v = :expected``, not
expired) in the common case; when the stored form differs (a counter, a
chunked value) it reads the item and writes conditionally on exactly what it
read.

Consistency: reads are issued with ``ConsistentRead`` as the plan serves the
resource (``Binding.consistency``, via ``BackendSettings.eventual_reads``):
strongly consistent unless the map declared ``consistency="eventual"``,
then eventually consistent -- half a read unit each, which is what the plan
priced.  That holds on every read path (``get``, ``get_many``'s
``BatchGetItem``, ``contains``, the chunks of a large value, ``scan``'s
``Scan``).  Two kinds of read stay strong whatever the resource's level:
the reads inside a write (``increment``'s and ``compare_and_set``'s
read-then-write-conditionally, which must see the last write or answer
wrongly), and the re-read of a large value whose chunks an eventual read
found incomplete (its chunks are written before the item that names them,
so a strong read of both finds them).  ``MapClient.update`` reads with the
resource's level, then writes with ``compare_and_set``: on an eventual map a
stale read only costs one more round of its loop.

Cost of ``scan`` (``Map.items``): DynamoDB has no ordered scan over partition
keys, so each page is a full table ``Scan`` of the keys (filtered on the
server by prefix, position and expiry), sorted here in code-point order (the
order of UTF-8 bytes, which is DynamoDB's string order), then one
``BatchGetItem`` for the page's values.  That is O(table) read units per
page: fine for admin listings and small maps, wrong for hot paths -- use a
``Collection`` with an ``Index`` for queries.

Retries (:mod:`skaal.runtime.backends.aws_client`): reads and blind writes
(``set``, ``set_many``: the whole item again) are repeated after a timeout.
``increment`` (``ADD`` would count twice), ``compare_and_set`` and
``delete`` (a repeat would answer "not written" or ``False`` for a write
that happened) are not: once they may have reached DynamoDB they raise
:class:`~skaal.runtime.errors.OutcomeUnknownError` or, at the deadline,
:class:`~skaal.runtime.errors.DeadlineExceededError`.  A repeated ``set``
of a chunked value answers with its own item; the chunks of the value it
replaced then stay behind, unreachable.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from skaal.blueprint.model import ResourceSpec
from skaal.errors import SkaalRuntimeError
from skaal.runtime.backends.aws_client import AwsProvider, AwsSession
from skaal.runtime.backends.aws_errors import AwsNotFoundError, AwsThrottledError, missing
from skaal.runtime.ports import (
    Chunk,
    Clock,
    DocumentBackend,
)
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from skaal.declare.native import Native

__all__ = ["PART_SIZE", "DynamoDBKeyValue", "DynamoDBProvider", "ensure_table"]

PART_SIZE = 350_000
"""Largest value stored inline; larger values are cut into chunks of this size."""

_FAILED = "ConditionalCheckFailedException"
_UNPROCESSED_ROUNDS = 8
"""Batch calls per page before items DynamoDB keeps leaving unprocessed are an error."""
_LIVE = "(attribute_not_exists(#e) OR #e > :now)"
Item = dict[str, Any]


async def ensure_table(
    aws: AwsSession,
    table: str,
    *,
    where: str,
    range_key: bool,
    indexes: Sequence[tuple[str, str]] = (),
    ttl_attribute: str | None = None,
) -> None:
    """Check ``table`` exists; create it (and wait) if ``aws.create_missing``.

    ``indexes`` are ``(index name, hash attribute)`` pairs: GSIs ranged on ``pk``.
    """
    ddb = aws.client("dynamodb")
    try:
        found = await aws.call(
            lambda: ddb.describe_table(TableName=table),
            what=f"finding DynamoDB table {table!r}",
            where=where,
            safety=Safety.READ,
            allow=("ResourceNotFoundException",),
        )
        keys = {k["AttributeName"]: k["KeyType"] for k in found["Table"].get("KeySchema", [])}
        expected = {"pk": "HASH", **({"sk": "RANGE"} if range_key else {})}
        if keys and keys != expected:
            shown = ", ".join(f"{name} ({kind})" for name, kind in sorted(expected.items()))
            raise SkaalRuntimeError(
                f"DynamoDB table {table!r} is keyed by {', '.join(sorted(keys))}, "
                f"not by {shown} as Skaal stores it",
                where=where,
                fix="adopt a table with Skaal's key schema (docs/adopt.md), or let the "
                "deployment create the table",
            )
        present = {i["IndexName"] for i in found["Table"].get("GlobalSecondaryIndexes", [])}
        absent = sorted(name for name, _ in indexes if name not in present)
        if absent:
            raise AwsNotFoundError(
                f"DynamoDB table {table!r} has no index {', '.join(absent)}",
                where=where,
                fix="redeploy (skaal deploy) so the table gains the indexes declared since",
                command="skaal deploy",
            )
        return
    except ClientError as exc:
        adopted = table in aws.adopted.values()
        if adopted or not aws.create_missing:
            raise missing(f"DynamoDB table {table!r}", where=where, adopted=adopted) from exc
    attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    if range_key:
        attributes.append({"AttributeName": "sk", "AttributeType": "N"})
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
    request: Item = {"TableName": table, "BillingMode": "PAY_PER_REQUEST"}
    if indexes:
        attributes += [{"AttributeName": a, "AttributeType": "S"} for _, a in indexes]
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": attribute, "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, attribute in indexes
        ]

    def create() -> None:
        try:
            ddb.create_table(AttributeDefinitions=attributes, KeySchema=schema, **request)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
        ddb.get_waiter("table_exists").wait(TableName=table)
        if ttl_attribute is not None:
            ddb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )

    await aws.call(
        create,
        what=f"creating DynamoDB table {table!r}",
        where=where,
        safety=Safety.IDEMPOTENT,  # an existing table is accepted
        wait=60.0,  # the table becoming active
    )


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


class DynamoDBKeyValue:
    """A ``KeyValueBackend`` on one DynamoDB table (see the module docstring)."""

    def __init__(
        self, aws: AwsSession, resource: str, clock: Clock, *, consistent: bool = True
    ) -> None:
        self._aws = aws
        self._ddb = aws.client("dynamodb")
        self._resource = resource
        self._clock = clock
        self.table = aws.name(resource, service="dynamodb")
        self.consistent = consistent
        """``ConsistentRead`` of this resource's reads: False when the plan serves it eventual."""

    async def open(self) -> None:
        await ensure_table(
            self._aws, self.table, where=self._resource, range_key=True, ttl_attribute="exp"
        )

    async def close(self) -> None:
        return None

    async def native(self) -> Native[DynamoDBClient]:
        """Entry ``key`` is the item ``pk = key, sk = 0`` (see the module docstring)."""
        return self._aws.native(self._ddb, "dynamodb", "map", self._resource, table=self.table)

    # -- helpers -----------------------------------------------------------------

    async def _call(self, fn: Any, what: str, safety: Safety, allow: Sequence[str] = ()) -> Any:
        return await self._aws.call(
            fn,
            what=f"{what} on DynamoDB table {self.table!r}",
            where=self._resource,
            safety=safety,
            allow=allow,
        )

    def _now(self) -> dict[str, str]:
        return {"N": repr(self._clock())}

    def _expired(self, item: Item) -> bool:
        exp = item.get("exp")
        return exp is not None and float(exp["N"]) <= self._clock()

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        """The ``exp`` attribute of each entry, read one item at a time."""
        now, left = self._clock(), {}
        for key in keys:
            item = await self._item(key, consistent=True)
            exp = None if item is None else item.get("exp")
            if exp is not None and float(exp["N"]) > now:
                left[key] = float(exp["N"]) - now
        return left

    async def _item(self, key: str, *, consistent: bool | None = None) -> Item | None:
        """The main item of ``key``; ``consistent`` defaults to the resource's level."""
        ddb, table = self._ddb, self.table
        strong = self.consistent if consistent is None else consistent
        response = await self._call(
            lambda: ddb.get_item(
                TableName=table, Key={"pk": {"S": key}, "sk": {"N": "0"}}, ConsistentRead=strong
            ),
            "GetItem",
            Safety.READ,
        )
        item: Item | None = response.get("Item")
        return item

    async def _value(
        self, key: str, item: Item | None, *, consistent: bool | None = None
    ) -> bytes | None:
        """The live value an item stands for (reading its chunks if it has any)."""
        if item is None or self._expired(item):
            return None
        if "v" in item:
            return bytes(item["v"]["B"])
        if "n" in item:
            return str(int(item["n"]["N"])).encode()
        base, count = int(item["base"]["N"]), int(item["parts"]["N"])
        strong = self.consistent if consistent is None else consistent
        chunks = await self._parts(key, base, count, consistent=strong)
        if len(chunks) != count:
            # replaced while we read, or an eventual read saw the item before its
            # chunks: read the current value strongly (its chunks are then complete)
            return await self._value(key, await self._item(key, consistent=True), consistent=True)
        return b"".join(chunks)

    async def _parts(self, key: str, base: int, count: int, *, consistent: bool) -> list[bytes]:
        ddb, table = self._ddb, self.table
        out: list[bytes] = []
        start: Item | None = None
        while True:
            request: Item = {
                "TableName": table,
                "KeyConditionExpression": "pk = :k AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {
                    ":k": {"S": key},
                    ":lo": {"N": str(base + 1)},
                    ":hi": {"N": str(base + count)},
                },
                "ConsistentRead": consistent,
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            page = await self._call(lambda r=request: ddb.query(**r), "Query (chunks)", Safety.READ)
            out += [bytes(i["c"]["B"]) for i in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if start is None:
                return out

    async def _drop_parts(self, key: str, old: Item | None) -> None:
        """Delete the chunks of the item ``old`` (the one just replaced or deleted)."""
        if old is None or "parts" not in old:
            return
        base, count = int(old["base"]["N"]), int(old["parts"]["N"])
        keys = [{"pk": {"S": key}, "sk": {"N": str(base + i)}} for i in range(1, count + 1)]
        await self._batch_write([{"DeleteRequest": {"Key": k}} for k in keys])

    async def _unprocessed(self, round_: int, what: str) -> None:
        """Back off before re-sending what a batch left unprocessed; give up after a few rounds.

        DynamoDB leaves items unprocessed when it throttles: re-sending at once
        would only be throttled again.
        """
        if round_ == _UNPROCESSED_ROUNDS - 1:
            raise AwsThrottledError(
                f"{what} on DynamoDB table {self.table!r} left items unprocessed "
                f"{round_} times in a row (throttled)",
                where=self._resource,
                fix="lower the request rate or raise the table's capacity",
            )
        await asyncio.sleep(random.uniform(0, min(1.0, 0.05 * 2**round_)))

    async def _batch_write(self, requests: list[Item]) -> None:
        ddb, table = self._ddb, self.table
        for i in range(0, len(requests), 25):
            pending: list[Item] = requests[i : i + 25]
            for round_ in range(_UNPROCESSED_ROUNDS):
                if round_:
                    await self._unprocessed(round_, "BatchWriteItem")
                batch = {table: pending}
                response = await self._call(
                    lambda b=batch: ddb.batch_write_item(RequestItems=b),
                    "BatchWriteItem",
                    Safety.IDEMPOTENT,  # whole-item puts and deletes
                )
                pending = response.get("UnprocessedItems", {}).get(table, [])
                if not pending:
                    break

    async def _new_item(self, key: str, value: bytes, ttl: float | None) -> Item:
        """The main item for ``value``; writes the chunks first when it is large."""
        item: Item = {"pk": {"S": key}, "sk": {"N": "0"}}
        if len(value) <= PART_SIZE:
            item["v"] = {"B": value}
        else:
            base = secrets.randbelow(1 << 60) << 12
            chunks = [value[i : i + PART_SIZE] for i in range(0, len(value), PART_SIZE)]
            await self._batch_write(
                [
                    {
                        "PutRequest": {
                            "Item": {"pk": {"S": key}, "sk": {"N": str(base + n)}, "c": {"B": c}}
                        }
                    }
                    for n, c in enumerate(chunks, start=1)
                ]
            )
            item["base"] = {"N": str(base)}
            item["parts"] = {"N": str(len(chunks))}
            item["h"] = {"B": _digest(value)}
        if ttl is not None:
            item["exp"] = {"N": repr(self._clock() + ttl)}
        return item

    async def _put(self, item: Item, condition: Item | None = None) -> Item | None:
        """PutItem; the replaced item, or ``ClientError`` if ``condition`` failed.

        A blind put is repeated after a timeout (the same whole item: the same
        state; its answer may then be the item itself, see :meth:`set`); a
        conditional one is not -- a repeat of a put that was applied fails
        its condition, which would answer "not written" for a write that was.
        """
        ddb, table = self._ddb, self.table
        request: Item = {"TableName": table, "Item": item, "ReturnValues": "ALL_OLD"}
        safety = Safety.IDEMPOTENT
        if condition is not None:
            request.update(condition)
            request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
            safety = Safety.UNSAFE
        response = await self._call(
            lambda: ddb.put_item(**request), "PutItem", safety, allow=(_FAILED,)
        )
        old: Item | None = response.get("Attributes")
        return old

    def _same_as(self, item: Item | None) -> Item:
        """A condition: the stored item is still exactly ``item``."""
        if item is None:
            return {"ConditionExpression": "attribute_not_exists(pk)"}
        names: dict[str, str] = {}
        values: Item = {}
        parts = ["attribute_exists(pk)"]
        for attribute in ("v", "n", "base", "exp"):
            names[f"#{attribute}"] = attribute
            if attribute in item:
                parts.append(f"#{attribute} = :{attribute}")
                values[f":{attribute}"] = item[attribute]
            else:
                parts.append(f"attribute_not_exists(#{attribute})")
        request: Item = {
            "ConditionExpression": " AND ".join(parts),
            "ExpressionAttributeNames": names,
        }
        if values:
            request["ExpressionAttributeValues"] = values
        return request

    # -- the port ------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        return await self._value(key, await self._item(key))

    async def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        ddb, table = self._ddb, self.table
        unique = list(dict.fromkeys(keys))
        items: dict[str, Item] = {}
        for i in range(0, len(unique), 100):
            pending: Item = {
                table: {
                    "Keys": [{"pk": {"S": k}, "sk": {"N": "0"}} for k in unique[i : i + 100]],
                    "ConsistentRead": self.consistent,
                }
            }
            for round_ in range(_UNPROCESSED_ROUNDS):
                if round_:
                    await self._unprocessed(round_, "BatchGetItem")
                response = await self._call(
                    lambda p=pending: ddb.batch_get_item(RequestItems=p),
                    "BatchGetItem",
                    Safety.READ,
                )
                for item in response.get("Responses", {}).get(table, []):
                    items[item["pk"]["S"]] = item
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
        found: dict[str, bytes] = {}
        for key in unique:
            value = await self._value(key, items.get(key))
            if value is not None:
                found[key] = value
        return found

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        item = await self._new_item(key, value, ttl)
        old = await self._put(item)
        if old is not None and "base" in old and old.get("base") == item.get("base"):
            # the put was repeated after a timeout and answered with this very item:
            # its chunks are the new value's (the replaced value's stay unreachable)
            return
        await self._drop_parts(key, old)

    async def set_many(self, items: Mapping[str, bytes], *, ttl: float | None = None) -> None:
        """Small values in ``BatchWriteItem`` calls of 25; large ones one by one.

        A batch write cannot return the items it replaces, so the chunks of a
        large value overwritten here by a small one stay behind (unreachable,
        billed as storage); ``set`` and ``delete`` reclaim them.
        """
        small: list[Item] = []
        for key, value in items.items():
            if len(value) > PART_SIZE:
                await self.set(key, value, ttl=ttl)
            else:
                small.append({"PutRequest": {"Item": await self._new_item(key, value, ttl)}})
        await self._batch_write(small)

    async def delete(self, key: str) -> bool:
        ddb, table = self._ddb, self.table
        response = await self._call(
            lambda: ddb.delete_item(
                TableName=table,
                Key={"pk": {"S": key}, "sk": {"N": "0"}},
                ReturnValues="ALL_OLD",
            ),
            "DeleteItem",
            Safety.UNSAFE,  # a repeat would answer False for a key it deleted
        )
        old: Item | None = response.get("Attributes")
        await self._drop_parts(key, old)
        return old is not None and not self._expired(old)

    async def contains(self, key: str) -> bool:
        item = await self._item(key)
        return item is not None and not self._expired(item)

    async def scan(
        self, *, prefix: str = "", limit: int, after: str | None = None
    ) -> Chunk[tuple[str, bytes]]:
        ddb, table = self._ddb, self.table
        conditions = ["sk = :zero", _LIVE]
        values: Item = {":zero": {"N": "0"}, ":now": self._now()}
        if prefix:
            conditions.append("begins_with(pk, :prefix)")
            values[":prefix"] = {"S": prefix}
        if after is not None:
            conditions.append("pk > :after")
            values[":after"] = {"S": after}
        keys: list[str] = []
        start: Item | None = None
        while True:
            request: Item = {
                "TableName": table,
                "ProjectionExpression": "pk",
                "FilterExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": {"#e": "exp"},
                "ExpressionAttributeValues": values,
                "ConsistentRead": self.consistent,
            }
            if start is not None:
                request["ExclusiveStartKey"] = start
            page = await self._call(lambda r=request: ddb.scan(**r), "Scan", Safety.READ)
            keys += [i["pk"]["S"] for i in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if start is None:
                break
        keys.sort()
        wanted = keys[:limit]
        found = await self.get_many(wanted)
        out = tuple((k, found[k]) for k in wanted if k in found)
        more = len(keys) > limit
        return Chunk(out, wanted[-1] if more and wanted else None)

    async def increment(self, key: str, by: int, *, ttl: float | None = None) -> int:
        ddb, table = self._ddb, self.table
        values: Item = {":by": {"N": str(by)}, ":now": self._now()}
        update = "ADD #n :by"
        if ttl is None:
            update += " REMOVE #e"
        else:
            update += " SET #e = :exp"
            values[":exp"] = {"N": repr(self._clock() + ttl)}
        try:
            response = await self._call(
                lambda: ddb.update_item(
                    TableName=table,
                    Key={"pk": {"S": key}, "sk": {"N": "0"}},
                    UpdateExpression=update,
                    ConditionExpression="attribute_not_exists(#v) AND attribute_not_exists(#p) "
                    f"AND {_LIVE}",
                    ExpressionAttributeNames={"#e": "exp", "#n": "n", "#v": "v", "#p": "parts"},
                    ExpressionAttributeValues=values,
                    ReturnValues="UPDATED_NEW",
                ),
                "UpdateItem ADD",
                Safety.UNSAFE,  # never re-sent: the server would add twice
                allow=(_FAILED,),
            )
            return int(response["Attributes"]["n"]["N"])
        except ClientError:
            pass
        # The entry is stored as a value, or expired: rewrite it as a counter,
        # conditionally on what was read, until no one else wrote in between.
        while True:  # read-then-write: always the last write (strong), whatever the level
            item = await self._item(key, consistent=True)
            current = await self._value(key, item, consistent=True)
            total = (0 if current is None else int(current)) + by
            new: Item = {"pk": {"S": key}, "sk": {"N": "0"}, "n": {"N": str(total)}}
            if ttl is not None:
                new["exp"] = {"N": repr(self._clock() + ttl)}
            try:
                old = await self._put(new, self._same_as(item))
            except ClientError:
                continue
            await self._drop_parts(key, old)
            return total

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, *, ttl: float | None = None
    ) -> bool:
        new = await self._new_item(key, value, ttl)
        fast: Item
        if expected is None:
            fast = {
                "ConditionExpression": "attribute_not_exists(pk) OR #e <= :now",
                "ExpressionAttributeNames": {"#e": "exp"},
                "ExpressionAttributeValues": {":now": self._now()},
            }
        else:
            fast = {
                "ConditionExpression": f"#v = :expected AND {_LIVE}",
                "ExpressionAttributeNames": {"#e": "exp", "#v": "v"},
                "ExpressionAttributeValues": {":expected": {"B": expected}, ":now": self._now()},
            }
        try:
            old = await self._put(new, fast)
        except ClientError as exc:
            seen: Item | None = exc.response.get("Item")
            if expected is None or seen is None or "v" in seen or self._expired(seen):
                # The condition read the value itself: it is not ``expected``.
                await self._drop_parts(key, new)
                return False
            # A counter or a chunked value: compare what it stands for (read strong:
            # a stale read would answer "not written" for a value that matches).
            item = await self._item(key, consistent=True)
            if await self._value(key, item, consistent=True) != expected:
                await self._drop_parts(key, new)
                return False
            try:
                old = await self._put(new, self._same_as(item))
            except ClientError:
                await self._drop_parts(key, new)
                return False
        await self._drop_parts(key, old)
        return True


class DynamoDBProvider(AwsProvider):
    """The ``dynamodb`` implementation: one ``AwsSession``, one table per resource."""

    implementation = "dynamodb"

    def _consistent(self, spec: ResourceSpec) -> bool:
        """``ConsistentRead`` for ``spec``'s reads: strong unless the plan serves it eventual."""
        return spec.name not in self.settings.eventual_reads

    def key_value(self, spec: ResourceSpec) -> DynamoDBKeyValue:
        return DynamoDBKeyValue(
            self.aws, spec.name, self.settings.clock, consistent=self._consistent(spec)
        )

    def documents(self, spec: ResourceSpec) -> DocumentBackend:
        from skaal.runtime.backends.aws_dynamodb_docs import DynamoDBDocuments

        return DynamoDBDocuments(
            self.aws, spec, self.settings.clock, consistent=self._consistent(spec)
        )
