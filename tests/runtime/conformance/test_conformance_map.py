"""Map semantics every key-value backend must have."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from conftest import FakeClock, Todo
from pydantic import BaseModel

from skaal.migrate.sides import side_for
from skaal.runtime.errors import InvalidCursorError, StoredValueError, ValueTypeError
from skaal.runtime.ports import ExpiringStore

pytestmark = pytest.mark.asyncio


class Cart(BaseModel):
    owner: str
    items: list[str]
    total: float


@dataclasses.dataclass
class Point:
    x: int
    y: int


async def test_get_set_delete_contains(make_map: Any) -> None:
    m = await make_map(str, int)
    assert await m.get("a") is None
    assert not await m.contains("a")
    await m.set("a", 1)
    assert await m.get("a") == 1
    assert await m.contains("a")
    await m.set("a", 2)
    assert await m.get("a") == 2
    assert await m.delete("a") is True
    assert await m.delete("a") is False
    assert await m.get("a") is None


@pytest.mark.parametrize(
    ("value_type", "value"),
    [
        (Cart, Cart(owner="ada", items=["é", "🍕"], total=3.5)),
        (Point, Point(1, -2)),
        (dict[str, list[int]], {"a": [1, 2]}),
        (bytes, bytes(range(256))),
        (str, "ünïcødé ✓ \u2028 🍕"),
        (float, 0.1),
        (bool, False),
        (Todo, Todo(id="t", owner="o", tags=["x"])),
    ],
)
async def test_values_round_trip(make_map: Any, value_type: Any, value: Any) -> None:
    m = await make_map(str, value_type)
    await m.set("k", value)
    assert await m.get("k") == value


@pytest.mark.parametrize(
    ("key_type", "key"),
    [(str, "ключ/🍕\t"), (int, -42), (bytes, b"\x00\xff\xfe/.."), (tuple[int, str], (1, "a"))],
)
async def test_keys_round_trip(make_map: Any, key_type: Any, key: Any) -> None:
    m = await make_map(key_type, str)
    await m.set(key, "v")
    assert await m.get(key) == "v"
    page = await m.items()
    assert page.items == ((key, "v"),)


async def test_large_value(make_map: Any) -> None:
    m = await make_map(str, bytes)
    blob = bytes(range(256)) * (5 * 4096)  # 5 MiB
    await m.set("big", blob)
    assert await m.get("big") == blob


async def test_wrong_value_type_is_rejected_before_writing(make_map: Any) -> None:
    m = await make_map(str, Cart)
    with pytest.raises(ValueTypeError, match=r"M holds .*Cart values, got dict"):
        await m.set("k", {"owner": "ada", "items": [], "total": 1})
    with pytest.raises(ValueTypeError, match="int"):
        await (await make_map(str, int, name="N")).set("k", "5")
    assert await m.get("k") is None


async def test_wrong_key_type_is_rejected(make_map: Any) -> None:
    m = await make_map(int, str)
    with pytest.raises(ValueTypeError, match="int keys, got str"):
        await m.set("1", "x")
    with pytest.raises(ValueTypeError):
        await m.get(True)


async def test_value_of_changed_type_is_reported(make_map: Any) -> None:
    numbers = await make_map(str, int)
    await numbers.backend.set("k", b'"not a number"')
    with pytest.raises(StoredValueError, match="'k'"):
        await numbers.get("k")


async def test_get_many_and_set_many(make_map: Any) -> None:
    m = await make_map(str, int)
    await m.set_many({"a": 1, "b": 2, "c": 3})
    assert await m.get_many(["a", "c", "zz"]) == {"a": 1, "c": 3}
    assert await m.get_many([]) == {}


async def test_items_paginates_thousands_in_key_order(make_map: Any) -> None:
    m = await make_map(str, int)
    keys = [f"k{i:05d}" for i in range(2500)]
    await m.set_many({k: i for i, k in enumerate(keys)})
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = await m.items(limit=300, cursor=cursor)
        seen += [k for k, _ in page.items]
        pages += 1
        cursor = page.cursor
        if cursor is None:
            break
    assert seen == keys
    assert pages == 9


async def test_items_with_prefix_in_code_point_order(make_map: Any) -> None:
    m = await make_map(str, int)
    names = ["user/b", "user/a", "user/é", "user/🍕", "user", "usex/a", "use", "user/a/x"]
    for i, k in enumerate(names):
        await m.set(k, i)
    first = await m.items(prefix="user/", limit=2)
    assert [k for k, _ in first.items] == ["user/a", "user/a/x"]
    rest = await m.items(prefix="user/", limit=10, cursor=first.cursor)
    assert [k for k, _ in rest.items] == ["user/b", "user/é", "user/🍕"]
    assert rest.cursor is None
    assert [k for k, _ in (await m.items(prefix="zz")).items] == []


async def test_prefix_needs_str_keys(make_map: Any) -> None:
    m = await make_map(int, str)
    with pytest.raises(ValueTypeError, match="prefix scans need str keys"):
        await m.items(prefix="1")


async def test_bad_cursor_and_limit(make_map: Any) -> None:
    m = await make_map(str, int)
    with pytest.raises(InvalidCursorError, match="not a cursor"):
        await m.items(cursor="!!not-base64!!")
    with pytest.raises(ValueTypeError, match="limit=0"):
        await m.items(limit=0)


async def test_ttl_expiry(make_map: Any, clock: FakeClock) -> None:
    m = await make_map(str, int)
    await m.set("short", 1, ttl=10)
    await m.set("forever", 2)
    clock.advance(9.9)
    assert await m.get("short") == 1
    clock.advance(0.2)
    assert await m.get("short") is None
    assert not await m.contains("short")
    assert [k for k, _ in (await m.items()).items] == ["forever"]
    assert await m.get_many(["short", "forever"]) == {"forever": 2}
    assert await m.delete("short") is False
    await m.set("short", 3)  # rewriting without ttl clears the expiry
    clock.advance(1000)
    assert await m.get("short") == 3


#: map backends that tell the time left of their entries (skaal migrate copies it)
EXPIRING = {"memory", "sqlite", "postgres", "redis", "dynamodb"}


async def test_remaining_ttl(make_map: Any, clock: FakeClock) -> None:
    m = await make_map(str, int)
    store = m.backend
    if not isinstance(store, ExpiringStore):
        # a backend that cannot tell the time left: skaal migrate copies its entries without
        # one, and says so (the side does not claim to keep time to live)
        assert store.__class__.__module__.rsplit(".", 1)[-1] not in EXPIRING
        assert side_for("map", store, m, resource="m").keeps_ttl is False
        return
    assert side_for("map", store, m, resource="m").keeps_ttl is True
    await m.set("short", 1, ttl=10)
    await m.set("long", 2, ttl=1000)
    await m.set("forever", 3)
    clock.advance(4)
    left = await store.remaining_ttl(["short", "long", "forever", "absent"])
    assert sorted(left) == ["long", "short"]
    assert left["short"] == pytest.approx(6, abs=0.01)
    assert left["long"] == pytest.approx(996, abs=0.01)
    clock.advance(6.1)
    assert sorted(await store.remaining_ttl(["short", "long"])) == ["long"]  # expired


async def test_ttl_must_be_positive(make_map: Any) -> None:
    m = await make_map(str, int)
    with pytest.raises(ValueTypeError, match="ttl=-1"):
        await m.set("a", 1, ttl=-1)


async def test_increment_is_atomic_under_concurrency(make_map: Any) -> None:
    m = await make_map(str, int)
    assert await m.increment("n") == 1
    assert await m.increment("n", by=-3) == -2
    await asyncio.gather(*(m.increment("c") for _ in range(200)))
    assert await m.get("c") == 200


async def test_increment_needs_int_values(make_map: Any) -> None:
    m = await make_map(str, str)
    with pytest.raises(ValueTypeError, match="int values"):
        await m.increment("n")


async def test_update_has_no_lost_updates(make_map: Any) -> None:
    m = await make_map(str, Cart)

    def add(item: str) -> Any:
        def fn(cart: Cart | None) -> Cart:
            cart = cart or Cart(owner="ada", items=[], total=0)
            return Cart(owner=cart.owner, items=[*cart.items, item], total=cart.total + 1)

        return fn

    results = await asyncio.gather(*(m.update("cart", add(f"i{i}")) for i in range(60)))
    final = await m.get("cart")
    assert final is not None
    assert final.total == 60
    assert sorted(final.items) == sorted(f"i{i}" for i in range(60))
    assert max(r.total for r in results) == 60


async def test_update_validates_the_new_value(make_map: Any) -> None:
    m = await make_map(str, int)
    with pytest.raises(ValueTypeError):
        await m.update("a", lambda _: "text")
    assert await m.get("a") is None
