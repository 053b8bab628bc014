"""DynamoDB reads at the consistency the plan serves, checked on the wire against moto.

Needs SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh`` starts moto).
The app is planned on the bundled aws catalog; the runtime opens it against
moto's server, and a botocore ``before-send`` hook records the JSON body of
every DynamoDB request the runtime's own client sends, so each assertion is
about the ``ConsistentRead`` that really left the process.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from skaal import App, Collection, Index, Map
from skaal.catalog.loader import load_catalog
from skaal.plan.model import Plan
from skaal.runtime import Runtime
from skaal.runtime.backends.dynamodb import PART_SIZE
from skaal.solver import solve

pytestmark = pytest.mark.asyncio

app = App("reads")


@app.storage(consistency="eventual", backend="dynamodb")
class Views(Map[str, str]):
    """Read eventually consistent: half a read unit each."""


@app.storage(backend="dynamodb")
class Carts(Map[str, int]):
    """Consistency not declared: strong reads, as always."""


@app.storage(consistency="strong", backend="dynamodb")
class Ledger(Map[str, str]):
    """Declared strong."""


class Todo(BaseModel):
    id: str
    owner: str


@app.storage(consistency="eventual", backend="dynamodb")
class Todos(Collection[Todo]):
    """An eventual collection with a secondary index."""

    by_owner = Index("owner")


def _env() -> dict[str, str]:
    endpoint = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not endpoint:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    return {
        "SKAAL_AWS_ENDPOINT_URL": endpoint,
        "SKAAL_AWS_NAME_PREFIX": f"t{uuid.uuid4().hex[:12]}",
        "SKAAL_AWS_CREATE_TABLES": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def _plan() -> Plan:
    return solve(app.blueprint(), load_catalog("aws"))


@contextmanager
def _sent(runtime: Runtime) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """(operation, request body) of every DynamoDB call the runtime sends meanwhile."""
    client = runtime._providers["dynamodb"].aws.client("dynamodb")
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(request: Any, **_: Any) -> None:
        operation = request.headers["X-Amz-Target"].decode().rpartition(".")[2]
        calls.append((operation, json.loads(request.body)))

    client.meta.events.register("before-send.dynamodb", record)
    try:
        yield calls
    finally:
        client.meta.events.unregister("before-send.dynamodb", record)


def _reads(calls: list[tuple[str, dict[str, Any]]], table: str) -> list[tuple[str, object]]:
    """(operation, ConsistentRead as sent) of each read of ``table`` (absent: not sent)."""
    out: list[tuple[str, object]] = []
    for operation, body in calls:
        if operation == "BatchGetItem":
            for name, request in body["RequestItems"].items():
                if name == table:
                    out.append((operation, request.get("ConsistentRead", "absent")))
        elif operation in ("GetItem", "Query", "Scan") and body["TableName"] == table:
            out.append((operation, body.get("ConsistentRead", "absent")))
    return out


async def test_the_plan_serves_each_map_at_its_consistency() -> None:
    bindings = {b.resource: b for b in _plan().bindings}
    assert {name: bindings[name].consistency for name in bindings} == {
        "Carts": "strong",
        "Ledger": "strong",
        "Todos": "eventual",
        "Views": "eventual",
    }


@pytest.mark.parametrize(
    ("resource", "flag"), [("Views", False), ("Carts", True), ("Ledger", True)]
)
async def test_every_map_read_path_sends_the_planned_flag(
    resource: str, flag: bool, tmp_path: Path
) -> None:
    env = _env()
    plan = _plan()
    declared = {"Views": Views, "Carts": Carts, "Ledger": Ledger}[resource]
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path) as runtime:
        client: Any = runtime.client(declared)
        value = (lambda n: n) if resource == "Carts" else str
        await client.set("a", value(1))
        await client.set("b", value(2))
        if resource != "Carts":
            await client.set("big", "x" * (PART_SIZE + 10))  # chunked: a Query for its parts
        table = runtime._bound[resource].store.table
        with _sent(runtime) as calls:
            assert await client.get("a") == value(1)
            assert await client.contains("b")
            assert await client.get_many(["a", "b"]) == {"a": value(1), "b": value(2)}
            page = await client.items(limit=10)
            assert [k for k, _ in page.items][:2] == ["a", "b"]
            if resource != "Carts":
                assert await client.get("big") == "x" * (PART_SIZE + 10)
        reads = _reads(calls, table)
        operations = {operation for operation, _ in reads}
        chunks = {"Query"} if resource != "Carts" else set()
        assert operations == {"GetItem", "BatchGetItem", "Scan", *chunks}, reads
        assert {sent for _, sent in reads} == {flag}, reads


async def test_reads_inside_writes_stay_strong_on_an_eventual_map(tmp_path: Path) -> None:
    # increment's fallback and compare_and_set on a counter read then write
    # conditionally: a stale read would answer wrongly, so they read strong.
    env = _env()
    async with Runtime.open(app, _plan(), env=env, project_dir=tmp_path) as runtime:
        store = runtime._bound["Views"].store
        assert store.consistent is False
        await store.set("n", b"7")
        with _sent(runtime) as calls:
            assert await store.increment("n", 1) == 8  # a stored value, rewritten as a counter
            assert await store.compare_and_set("n", b"8", b"9")  # a counter: read, then write
        reads = _reads(calls, store.table)
        assert reads, calls
        assert {sent for _, sent in reads} == {True}, reads


async def test_an_eventual_collection_reads_eventual_and_its_index_is_never_strong(
    tmp_path: Path,
) -> None:
    env = _env()
    async with Runtime.open(app, _plan(), env=env, project_dir=tmp_path) as runtime:
        todos = runtime.client(Todos)
        await todos.put(Todo(id="1", owner="ada"))
        await todos.put(Todo(id="2", owner="bob"))
        table = runtime._bound["Todos"].store.table
        with _sent(runtime) as calls:
            assert await todos.get("1") == Todo(id="1", owner="ada")
            assert [t.id for t in (await todos.find()).items] == ["1", "2"]
            assert [t.id for t in (await todos.find(owner="ada")).items] == ["1"]
        reads = _reads(calls, table)
        assert ("GetItem", False) in reads, reads
        assert ("Scan", False) in reads, reads
        # a GSI refuses strongly consistent reads: the Query sends no flag at all
        assert [sent for operation, sent in reads if operation == "Query"] == ["absent"], reads
        assert {sent for operation, sent in reads if operation != "Query"} == {False}, reads


async def test_a_plan_before_schema_4_reads_strong(tmp_path: Path) -> None:
    # A lock written before the plan recorded consistency has none: the
    # runtime reads every resource strongly consistent, as that Skaal did.
    env = _env()
    plan = _plan()
    unrecorded = tuple(b.model_copy(update={"consistency": None}) for b in plan.bindings)
    older = plan.model_copy(update={"bindings": unrecorded})
    async with Runtime.open(app, older, env=env, project_dir=tmp_path) as runtime:
        views = runtime.client(Views)
        await views.set("a", "1")
        with _sent(runtime) as calls:
            assert await views.get("a") == "1"
        assert _reads(calls, runtime._bound["Views"].store.table) == [("GetItem", True)]
