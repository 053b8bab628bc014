"""``Resource.native``: the facade reaches the bound store's client, checked against the plan.

Runs a real runtime on the local plan (SQLite, memory, filesystem); the
conformance suite checks every backend's record and data
(``conformance/test_conformance_native.py``).
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

import skaal.native
from skaal import App, BlobStore, Map, Queue, SkaalRuntimeError, Topic
from skaal.catalog.loader import load_catalog
from skaal.native import FILESYSTEM, MARKERS, MEMORY, REDIS, SQLITE, SQS, Native, marker_of
from skaal.registry import DEFAULT_REGISTRY
from skaal.runtime import (
    NoActiveRuntimeError,
    NotBoundError,
    Runtime,
    ValueTypeError,
    WrongBackendError,
)
from skaal.solver import solve

app = App("hatches")


@app.storage(durability="persistent")
class Stock(Map[str, int]): ...


@app.storage(durability="ephemeral")
class Hot(Map[str, str]): ...


@app.blob()
class Files(BlobStore): ...


@app.queue()
class Jobs(Queue[str]): ...


@app.topic(durability="ephemeral")
class Events(Topic[str]): ...


class Undeclared(Map[str, int]): ...


@pytest.mark.asyncio
async def test_native_hands_out_the_bound_stores_client(tmp_path: Path) -> None:
    async with Runtime.open(app, solve(app.blueprint(), load_catalog("local")), data_dir=tmp_path):
        await Stock.set("apple", 3)
        stock = await Stock.native(SQLITE)
        assert (stock.backend, stock.resource, stock.kind, stock.name) == (
            "sqlite",
            "Stock",
            "map",
            '"map:Stock"',
        )
        assert stock.client.path == tmp_path / "hatches.sqlite3"
        sql = f"SELECT key, value FROM {stock.name}"
        assert await stock.client.run(lambda conn: conn.execute(sql).fetchall()) == [
            ("apple", b"3")
        ]
        assert await stock.client.run(lambda conn: isinstance(conn, sqlite3.Connection))

        hot = await Hot.native(MEMORY)
        await Hot.set("k", "v")
        assert await hot.client.get("k") == b'"v"'

        files = await Files.native(FILESYSTEM)
        assert files.client == tmp_path / "blobs" / "Files"

        untyped = await Jobs.native()
        assert isinstance(untyped, Native)
        assert (untyped.backend, untyped.kind, dict(untyped.names)) == (
            "sqlite",
            "queue",
            {"table": '"queue:Jobs"', "dead_letters": '"queue:Jobs:dead"'},
        )
        assert (await Events.native()).backend == "memory"


@pytest.mark.asyncio
async def test_a_marker_for_another_backend_names_the_binding_and_the_fix(
    tmp_path: Path,
) -> None:
    async with Runtime.open(app, solve(app.blueprint(), load_catalog("local")), data_dir=tmp_path):
        with pytest.raises(WrongBackendError) as caught:
            await Stock.native(REDIS)
        error = caught.value
        assert isinstance(error, SkaalRuntimeError)
        assert error.what == (
            "Stock is bound to sqlite (backend 'sqlite' in the plan), so "
            "native(skaal.native.REDIS) has no redis client to hand out"
        )
        assert error.where is not None
        declared = Path(__file__).read_text().splitlines().index("class Stock(Map[str, int]): ...")
        assert error.where == f"{__file__}:{declared}"  # the decorator's line
        assert error.fix == (
            "ask for the client it has with native(skaal.native.SQLITE); or pin it to a "
            "redis backend (backend=... in its declaration) and re-plan"
        )
        assert error.command == "skaal plan --explain Stock"

        with pytest.raises(WrongBackendError, match="sqs serves no map"):
            await Stock.native(SQS)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_name_instead_of_a_marker_is_refused(tmp_path: Path) -> None:
    async with Runtime.open(app, solve(app.blueprint(), load_catalog("local")), data_dir=tmp_path):
        with pytest.raises(ValueTypeError, match="takes a backend marker, not 'sqlite'") as caught:
            await Stock.native("sqlite")  # type: ignore[call-overload]
        assert caught.value.fix == (
            "pass a marker from skaal.native: native(skaal.native.SQLITE) for the client it "
            "is bound to"
        )


@pytest.mark.asyncio
async def test_outside_a_runtime_and_for_undeclared_classes(tmp_path: Path) -> None:
    with pytest.raises(NoActiveRuntimeError):
        await Stock.native(SQLITE)
    async with Runtime.open(app, solve(app.blueprint(), load_catalog("local")), data_dir=tmp_path):
        with pytest.raises(NotBoundError, match="Undeclared is not a resource of app"):
            await Undeclared.native()


#: The resource class of each kind, as the markers' type parameters name them.
_CLASSES = {"map": "Map", "collection": "Collection", "blob": "BlobStore"}
_CLASSES |= {"queue": "Queue", "topic": "Topic"}


def _typed_kinds(constant: str) -> set[str]:
    """The kinds a marker's annotation in skaal/native.py lets mypy accept."""
    tree = ast.parse(Path(skaal.native.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and ast.unparse(node.target) == constant:
            final = node.annotation
            assert isinstance(final, ast.Subscript)
            assert isinstance(final.slice, ast.Subscript)
            served = final.slice.slice  # Final[Backend[client, served]]
            assert isinstance(served, ast.Tuple)
            names = {n.id for n in ast.walk(served.elts[1]) if isinstance(n, ast.Name)}
            return {kind for kind, cls in _CLASSES.items() if cls in names}
    raise AssertionError(f"skaal/native.py annotates no marker {constant}")


def test_every_registered_store_implementation_has_a_marker_typed_with_its_kinds() -> None:
    """A marker per runnable implementation with data; mypy accepts exactly its record's kinds."""
    data = {"map", "collection", "blob", "queue", "topic"}
    stores = {
        impl.name: impl.kinds & data
        for impl in DEFAULT_REGISTRY
        if impl.runtime is not None and impl.kinds & data
    }
    assert sorted(m.implementation for m in MARKERS) == sorted(stores)
    for name, kinds in stores.items():
        marker = marker_of(name)
        assert marker is not None
        assert _typed_kinds(marker.constant) == kinds, marker
        assert marker.implementation == name
        assert repr(marker) == f"skaal.native.{marker.constant}"
        assert getattr(skaal.native, marker.constant) is marker
