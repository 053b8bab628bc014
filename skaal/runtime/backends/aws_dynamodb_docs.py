"""``Collection`` on DynamoDB: one table per resource, one GSI per declared ``Index``.

An item is ``pk`` (the document key, S), ``d`` (the encoded document, B) and
one ``x_<field>`` attribute (S) per indexed field holding the field's value in
a typed text form -- ``s:<text>``, ``n:<number>`` (``1`` and ``1.0`` are both
``n:1``), ``b:true``/``b:false``, ``z:null``, and canonical JSON text for
lists and objects (the client hands them over as ``s:`` strings).  So ``True``
never equals ``1`` and every value is a valid non-empty key attribute.

Each index is a global secondary index ``by_<field>`` with hash key
``x_<field>`` and range key ``pk``, projecting everything: ``find`` is one
``Query`` on the first filter's index, in key order (``pk`` ascending,
DynamoDB compares strings by UTF-8 bytes, i.e. code points), starting after
the cursor's key, with the other filters as a ``FilterExpression``.  It reads
only the documents matching that first filter.  ``find`` without filters
scans the whole table, sorts the keys and reads one page (O(table) per page).

A document written with a ``ttl`` also has ``exp`` (N, epoch seconds of the
injected clock), the table's native TTL attribute: DynamoDB deletes expired
documents eventually (within days; emulators may never do it).  Until then
every read treats ``exp <= now`` as absent -- ``get`` answers ``None``,
``delete`` answers ``False`` (and removes it), and ``find`` filters on the
server (``attribute_not_exists(exp) OR exp > :now``), so an expired document
is never counted in a page.  ``remaining_ttl`` tells the time a document has
left from ``exp``, so ``skaal migrate`` copies it with its time to live.

Consistency: ``get`` and the ``Scan`` of ``find`` without filters are issued
with ``ConsistentRead`` as the plan serves the collection (strong unless it
declared ``consistency="eventual"``; see :mod:`skaal.runtime.backends.dynamodb`).
``find`` with filters queries a GSI, and GSIs are eventually consistent on
DynamoDB whatever is asked (a strongly consistent read of one is refused): a
document put a moment ago may be missing from it for a fraction of a second.

Documents, index values included, must fit in a 400 KB item; an index value
longer than 2 KB is rejected by DynamoDB.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.backends.aws_client import AwsSession
from skaal.runtime.backends.dynamodb import ensure_table
from skaal.runtime.ports import Chunk, Clock, IndexValue
from skaal.runtime.retry import Safety

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from skaal.declare.native import Native

__all__ = ["DynamoDBDocuments", "index_text"]

Item = dict[str, Any]
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_LIVE = "(attribute_not_exists(#e) OR #e > :now)"


def index_text(value: IndexValue) -> str:
    """The typed text form of an index value (see the module docstring)."""
    if isinstance(value, bool):
        return "b:true" if value else "b:false"
    if value is None:
        return "z:null"
    if isinstance(value, int):
        return f"n:{value}"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return f"n:{int(value)}"
        return f"n:{value!r}"
    return f"s:{value}"


def _index_name(field: str) -> str:
    return f"by_{_UNSAFE.sub('_', field)}"[:255]


class DynamoDBDocuments:
    """A ``DocumentBackend`` on one DynamoDB table with a GSI per index."""

    def __init__(
        self, aws: AwsSession, spec: ResourceSpec, clock: Clock, *, consistent: bool = True
    ) -> None:
        self._aws = aws
        self._clock = clock
        self.consistent = consistent
        """``ConsistentRead`` of ``get`` and the full scan (False: the plan serves it eventual)."""
        self._ddb = aws.client("dynamodb")
        self._resource = spec.name
        self.table = aws.name(spec.name, service="dynamodb")
        self._indexes = {f: (_index_name(f), f"x_{f}") for f in spec.indexes}

    async def open(self) -> None:
        await ensure_table(
            self._aws,
            self.table,
            where=self._resource,
            range_key=False,
            indexes=sorted(self._indexes.values()),
            ttl_attribute="exp",
        )

    async def close(self) -> None:
        return None

    async def native(self) -> Native[DynamoDBClient]:
        """Document ``key`` is the item ``pk = key`` (``d``: its bytes); GSIs ``by_<field>``."""
        indexes = {f"index_{field}": name for field, (name, _) in sorted(self._indexes.items())}
        return self._aws.native(
            self._ddb, "dynamodb", "collection", self._resource, table=self.table, **indexes
        )

    async def _call(self, fn: Any, what: str, safety: Safety) -> Any:
        return await self._aws.call(
            fn,
            what=f"{what} on DynamoDB table {self.table!r}",
            where=self._resource,
            safety=safety,
        )

    def _live(self, item: Item) -> bool:
        exp = item.get("exp")
        return exp is None or float(exp["N"]) > self._clock()

    async def put(
        self,
        key: str,
        document: bytes,
        fields: Mapping[str, IndexValue],
        *,
        ttl: float | None = None,
    ) -> None:
        item: Item = {"pk": {"S": key}, "d": {"B": document}}
        for name, value in fields.items():
            if name in self._indexes:
                item[self._indexes[name][1]] = {"S": index_text(value)}
        if ttl is not None:
            item["exp"] = {"N": repr(self._clock() + ttl)}
        ddb, table = self._ddb, self.table
        await self._call(
            lambda: ddb.put_item(TableName=table, Item=item), "PutItem", Safety.IDEMPOTENT
        )

    async def remaining_ttl(self, keys: Sequence[str]) -> dict[str, float]:
        """The ``exp`` attribute of each live document of ``keys``, read one item at a time."""
        ddb, table = self._ddb, self.table
        now, left = self._clock(), {}
        for key in keys:
            response = await self._call(
                partial(
                    ddb.get_item,
                    TableName=table,
                    Key={"pk": {"S": key}},
                    ProjectionExpression="#e",
                    ExpressionAttributeNames={"#e": "exp"},
                    ConsistentRead=True,
                ),
                "GetItem",
                Safety.READ,
            )
            exp = (response.get("Item") or {}).get("exp")
            if exp is not None and float(exp["N"]) > now:
                left[key] = float(exp["N"]) - now
        return left

    async def get(self, key: str) -> bytes | None:
        ddb, table = self._ddb, self.table
        response = await self._call(
            lambda: ddb.get_item(
                TableName=table,
                Key={"pk": {"S": key}},
                ProjectionExpression="d, #e",
                ExpressionAttributeNames={"#e": "exp"},
                ConsistentRead=self.consistent,
            ),
            "GetItem",
            Safety.READ,
        )
        item = response.get("Item")
        return None if item is None or not self._live(item) else bytes(item["d"]["B"])

    async def delete(self, key: str) -> bool:
        ddb, table = self._ddb, self.table
        response = await self._call(
            lambda: ddb.delete_item(
                TableName=table, Key={"pk": {"S": key}}, ReturnValues="ALL_OLD"
            ),
            "DeleteItem",
            Safety.UNSAFE,  # a repeat would answer False for a document it deleted
        )
        old = response.get("Attributes")
        return old is not None and self._live(old)

    async def find(
        self, filters: Mapping[str, IndexValue], *, limit: int, after: str | None = None
    ) -> Chunk[bytes]:
        if not filters:
            return await self._scan(limit, after)
        ordered = sorted(filters)
        index, attribute = self._indexes[ordered[0]]
        names = {"#h": attribute, "#e": "exp"}
        values: Item = {
            ":h": {"S": index_text(filters[ordered[0]])},
            ":now": {"N": repr(self._clock())},
        }
        condition = "#h = :h"
        if after is not None:
            condition += " AND pk > :after"
            values[":after"] = {"S": after}
        extra: list[str] = [_LIVE]
        for n, field in enumerate(ordered[1:]):
            names[f"#f{n}"] = self._indexes[field][1]
            values[f":f{n}"] = {"S": index_text(filters[field])}
            extra.append(f"#f{n} = :f{n}")
        request: Item = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ProjectionExpression": "pk, d",
            "FilterExpression": " AND ".join(extra),
        }
        ddb = self._ddb
        out: list[Item] = []
        while len(out) <= limit:
            page = await self._call(
                lambda r=dict(request): ddb.query(**r), f"Query {index}", Safety.READ
            )
            out += page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if start is None:
                break
            request["ExclusiveStartKey"] = start
        docs = tuple(bytes(i["d"]["B"]) for i in out[:limit])
        return Chunk(docs, out[limit - 1]["pk"]["S"] if len(out) > limit else None)

    async def _scan(self, limit: int, after: str | None) -> Chunk[bytes]:
        ddb, table = self._ddb, self.table
        request: Item = {
            "TableName": table,
            "ProjectionExpression": "pk",
            "FilterExpression": _LIVE,
            "ExpressionAttributeNames": {"#e": "exp"},
            "ExpressionAttributeValues": {":now": {"N": repr(self._clock())}},
            "ConsistentRead": self.consistent,
        }
        if after is not None:
            request["FilterExpression"] += " AND pk > :after"
            request["ExpressionAttributeValues"][":after"] = {"S": after}
        keys: list[str] = []
        while True:
            page = await self._call(lambda r=dict(request): ddb.scan(**r), "Scan", Safety.READ)
            keys += [i["pk"]["S"] for i in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if start is None:
                break
            request["ExclusiveStartKey"] = start
        keys.sort()
        docs = [d for d in [await self.get(k) for k in keys[:limit]] if d is not None]
        return Chunk(tuple(docs), keys[limit - 1] if len(keys) > limit else None)
