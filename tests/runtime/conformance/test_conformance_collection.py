"""Collection semantics every document backend must have."""

from __future__ import annotations

import pytest
from conftest import Todo

from skaal.runtime.clients import CollectionClient
from skaal.runtime.errors import UndeclaredIndexError, ValueTypeError

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
