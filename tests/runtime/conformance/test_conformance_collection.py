"""Collection semantics every document backend must have."""

from __future__ import annotations

import pytest
from conftest import FakeClock, Todo

from skaal.migrate.sides import side_for
from skaal.runtime.clients import CollectionClient
from skaal.runtime.errors import UndeclaredIndexError, ValueTypeError
from skaal.runtime.ports import DocumentBackend, ExpiringStore

pytestmark = pytest.mark.asyncio


async def test_put_get_delete(todos: CollectionClient[Todo]) -> None:
    todo = Todo(id="1", owner="ada", tags=["x"])
    await todos.put(todo)
    assert await todos.get("1") == todo
    await todos.put(todo.model_copy(update={"done": True}))
    got = await todos.get("1")
    assert got is not None
    assert got.done
    assert await todos.delete("1") is True
    assert await todos.delete("1") is False
    assert await todos.get("1") is None


async def test_find_by_indexes_paginated(todos: CollectionClient[Todo]) -> None:
    for i in range(1200):
        await todos.put(Todo(id=f"{i:04d}", owner="ada" if i % 3 else "bob", priority=i % 2))
    found: list[str] = []
    cursor = None
    while True:
        page = await todos.find(owner="ada", priority=1, limit=97, cursor=cursor)
        found += [t.id for t in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    expected = [f"{i:04d}" for i in range(1200) if i % 3 and i % 2]
    assert found == expected


async def test_find_bool_and_list_fields(todos: CollectionClient[Todo]) -> None:
    await todos.put(Todo(id="a", owner="ada", done=True, tags=["x", "y"]))
    await todos.put(Todo(id="b", owner="ada", done=False, priority=1, tags=["x"]))
    assert [t.id for t in (await todos.find(done=True)).items] == ["a"]
    assert [t.id for t in (await todos.find(done=False)).items] == ["b"]
    assert [t.id for t in (await todos.find(priority=1)).items] == ["b"]
    assert [t.id for t in (await todos.find(tags=["x"])).items] == ["b"]
    assert [t.id for t in (await todos.find(owner="nobody")).items] == []


async def test_replacing_a_document_reindexes_it(todos: CollectionClient[Todo]) -> None:
    await todos.put(Todo(id="a", owner="ada"))
    await todos.put(Todo(id="a", owner="bob"))
    assert (await todos.find(owner="ada")).items == ()
    assert [t.owner for t in (await todos.find(owner="bob")).items] == ["bob"]


async def test_undeclared_field_names_the_fix(todos: CollectionClient[Todo]) -> None:
    with pytest.raises(UndeclaredIndexError, match="no Index") as err:
        await todos.find(id="1")
    assert err.value.fix is not None
    assert 'by_id = Index("id")' in err.value.fix


async def test_wrong_document_and_filter_types(todos: CollectionClient[Todo]) -> None:
    with pytest.raises(ValueTypeError):
        await todos.put({"id": "1", "owner": "x"})  # type: ignore[arg-type]
    with pytest.raises(ValueTypeError, match="priority"):
        await todos.find(priority="high")


async def test_unicode_keys(todos: CollectionClient[Todo]) -> None:
    await todos.put(Todo(id="ключ 🍕", owner="ада"))
    assert (await todos.get("ключ 🍕")) == Todo(id="ключ 🍕", owner="ада")
    assert len(await todos.find(owner="ада")) == 1


async def test_documents_expire(todos: CollectionClient[Todo], clock: FakeClock) -> None:
    await todos.put(Todo(id="a", owner="ada"), ttl=10)
    await todos.put(Todo(id="b", owner="ada"), ttl=10)
    await todos.put(Todo(id="keep", owner="ada"))
    clock.advance(5)
    assert await todos.get("a") == Todo(id="a", owner="ada")
    await todos.put(Todo(id="a", owner="ada", priority=1), ttl=10)  # restarts a's clock
    clock.advance(6)
    assert await todos.get("b") is None
    assert await todos.delete("b") is False
    assert await todos.get("a") == Todo(id="a", owner="ada", priority=1)
    assert [t.id for t in (await todos.find(owner="ada")).items] == ["a", "keep"]
    clock.advance(5)
    assert await todos.get("a") is None
    assert [t.id for t in (await todos.find(owner="ada")).items] == ["keep"]
    await todos.put(Todo(id="a", owner="bob"))  # rewritten without a ttl: never expires
    clock.advance(1_000_000)
    assert [t.id for t in (await todos.find(owner="bob")).items] == ["a"]


#: collection backends that tell the time left of their documents (skaal migrate copies it)
EXPIRING = {"memory", "sqlite", "postgres"}


async def test_remaining_ttl(todos: CollectionClient[Todo], clock: FakeClock) -> None:
    store = todos.backend
    if not isinstance(store, ExpiringStore):
        # a backend that cannot tell the time left: skaal migrate copies its documents
        # without one, and says so (the side does not claim to keep time to live)
        assert store.__class__.__module__.rsplit(".", 1)[-1] not in EXPIRING
        assert side_for("collection", store, todos, resource="todos").keeps_ttl is False
        return
    assert side_for("collection", store, todos, resource="todos").keeps_ttl is True
    await todos.put(Todo(id="short", owner="ada"), ttl=10)
    await todos.put(Todo(id="long", owner="ada"), ttl=1000)
    await todos.put(Todo(id="forever", owner="ada"))
    clock.advance(4)
    left = await store.remaining_ttl(["short", "long", "forever", "absent"])
    assert sorted(left) == ["long", "short"]
    assert left["short"] == pytest.approx(6, abs=0.01)
    assert left["long"] == pytest.approx(996, abs=0.01)
    clock.advance(6.1)
    assert sorted(await store.remaining_ttl(["short", "long"])) == ["long"]  # expired


async def test_default_ttl_and_its_override(
    todos: CollectionClient[Todo], clock: FakeClock
) -> None:
    backend: DocumentBackend = todos.backend
    short = CollectionClient(
        backend, resource="Todos", model=Todo, key_field="id", indexes=todos.indexes, default_ttl=10
    )
    await short.put(Todo(id="default", owner="ada"))
    await short.put(Todo(id="longer", owner="ada"), ttl=100)
    clock.advance(11)
    assert await short.get("default") is None
    assert await short.get("longer") == Todo(id="longer", owner="ada")
    for bad in (0, -1.0, True):
        with pytest.raises(ValueTypeError, match="positive number of seconds"):
            await short.put(Todo(id="x", owner="ada"), ttl=bad)


async def test_pages_skip_expired_documents(
    todos: CollectionClient[Todo], clock: FakeClock
) -> None:
    for i in range(60):
        await todos.put(Todo(id=f"{i:02d}", owner="ada", priority=i % 2), ttl=10 if i % 3 else None)
    clock.advance(10)
    found: list[str] = []
    cursor = None
    while True:
        page = await todos.find(owner="ada", limit=7, cursor=cursor)
        assert 0 < len(page.items) <= 7
        found += [t.id for t in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert found == [f"{i:02d}" for i in range(60) if i % 3 == 0]
    page = await todos.find(owner="ada", priority=1, limit=100)
    assert [t.id for t in page.items] == [f"{i:02d}" for i in range(60) if i % 6 == 3]
