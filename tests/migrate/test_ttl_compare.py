"""The time left of map entries in the catch-up and the verification, on in-memory maps.

Both ends are :class:`~skaal.runtime.backends.memory.MemoryKeyValue` stores
on one injected clock, so the time left is exact: a copy carries it, a copy
whose time left is off by more than the tolerance is found and rewritten,
and a target that cannot tell it is compared on content only.
"""

from __future__ import annotations

import pytest

from skaal.migrate.engine import Ends, compare
from skaal.migrate.sides import TTL_TOLERANCE, Item, side_for, ttl_matches
from skaal.runtime.backends.memory import MemoryKeyValue

NOW = 1_000_000.0


def clock() -> float:
    return NOW


async def _ends() -> tuple[MemoryKeyValue, MemoryKeyValue, Ends]:
    source, target = MemoryKeyValue(clock, "Orders"), MemoryKeyValue(clock, "Orders")
    await source.set("a", b"1")
    await source.set("b", b"2", ttl=600.0)
    await source.set("c", b"3", ttl=30.0)
    ends = Ends(
        source=side_for("map", source, None, resource="Orders"),
        target=side_for("map", target, None, resource="Orders"),
    )
    return source, target, ends


@pytest.mark.asyncio
async def test_the_catch_up_copies_the_time_left() -> None:
    _, target, ends = await _ends()
    repaired = await compare(ends, batch=2, repair=True)
    assert repaired.repaired == 3
    assert await target.remaining_ttl(["a", "b", "c"]) == {"b": 600.0, "c": 30.0}
    assert (await compare(ends, batch=2, repair=False)).matches


@pytest.mark.asyncio
async def test_a_time_left_off_by_more_than_the_tolerance_is_found_and_rewritten() -> None:
    _, target, ends = await _ends()
    await compare(ends, batch=10, repair=True)
    await target.set("b", b"2", ttl=600.0 + TTL_TOLERANCE + 1)  # same value, expires later
    await target.set("c", b"3")  # same value, never expires
    await target.set("a", b"1", ttl=600.0)  # same value, expires
    check = await compare(ends, batch=10, repair=False)
    assert not check.matches
    assert check.differing == ("a", "b", "c")
    assert (await compare(ends, batch=10, repair=True)).repaired == 3
    assert await target.remaining_ttl(["a", "b", "c"]) == {"b": 600.0, "c": 30.0}
    await target.set("b", b"2", ttl=600.0 + TTL_TOLERANCE)  # within the tolerance
    assert (await compare(ends, batch=10, repair=False)).matches


@pytest.mark.asyncio
async def test_a_target_that_cannot_tell_is_compared_on_content() -> None:
    class Plain:  # a map store without remaining_ttl
        def __init__(self) -> None:
            self.inner = MemoryKeyValue(clock, "Orders")

        def __getattr__(self, name: str) -> object:
            if name == "remaining_ttl":
                raise AttributeError(name)
            return getattr(self.inner, name)

    source = MemoryKeyValue(clock, "Orders")
    await source.set("b", b"2", ttl=600.0)
    plain = Plain()
    ends = Ends(
        source=side_for("map", source, None, resource="Orders"),
        target=side_for("map", plain, None, resource="Orders"),
    )
    assert not ends.target.keeps_ttl
    await compare(ends, batch=10, repair=True)
    assert (await compare(ends, batch=10, repair=False)).matches
    assert await plain.inner.remaining_ttl(["b"]) == {"b": 600.0}  # still written with it


def test_ttl_matches() -> None:
    assert ttl_matches(None, None)
    assert not ttl_matches(None, 5.0)
    assert not ttl_matches(5.0, None)
    assert ttl_matches(5.0, 5.0 + TTL_TOLERANCE)
    assert not ttl_matches(5.0, 5.0 + TTL_TOLERANCE + 0.01)
    assert Item("k", b"v", ttl=5.0).digest() == Item("k", b"v").digest()
