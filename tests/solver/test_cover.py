"""The bound on every packing's instance fees (:mod:`skaal.solver.cover`), and packings
it proves cheapest without z3 (:func:`skaal.solver.placement._proven_cheapest`).

Each case is small enough to check by hand, and z3's exact cheapest packing
(:func:`skaal.solver.exact.cheapest_packing`) is the second opinion.
"""

from __future__ import annotations

import pytest

from skaal.solver import placement
from skaal.solver.cover import fee_floor
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.exact import cheapest_packing
from skaal.solver.servers import Bins, Server, Shape
from skaal.testing.catalogs import instance_class


def _cache(name: str, gb: int, fee: float, *, units: int = 1) -> Shape:
    """A cache node of ``gb`` GB holding 16 resources (reads and writes unlimited)."""
    capacity = (gb * SCALE, None, None, 16 * SCALE)
    return Shape("cache", instance_class(name, price=fee), 0, fee, capacity, units)


ONE, FIVE, HUNDRED = _cache("1gb", 1, 35.77), _cache("5gb", 5, 98.55), _cache("100gb", 100, 1387.0)


def _unit(name: str, gb: float) -> Unit:
    return Unit((name,), (UnitOption("cache", 0, 0),), (round(gb * SCALE), 0, 0, SCALE))


def _fees(bins: Bins) -> int:
    return sum(shape.fee_micro for shape, members in bins if members)


def _server(*shapes: Shape, quota: int = 1000) -> Server:
    return Server(
        name="cache", shapes=shapes, quota=quota, quota_adjustable=True, disk_floor_gb=0.0
    )


# 24 resources, 101.45 GB: one of 68 GB (only the 100 GB class holds it), 21 of 0.1 GB
UNITS = [_unit("big", 68.0), _unit("mid", 26.55), _unit("four", 4.8)] + [
    _unit(f"r{i}", 0.1) for i in range(21)
]


def test_the_floor_counts_the_classes_a_unit_needs_and_the_resources_per_node() -> None:
    # 68 GB need the 100 GB class; 1.45 GB more need two 1 GB nodes ($71.54) rather than
    # a 5 GB one ($98.55); 24 resources need two nodes of 16 anyway: $1,458.54
    cover = fee_floor(UNITS, [ONE, FIVE, HUNDRED], quota=1000)
    assert cover is not None
    assert cover.floor == 1_458_540_000
    assert sorted(s.instance_class.name for s in cover.shapes) == ["100gb", "1gb", "1gb"]
    packed = cheapest_packing(UNITS, [ONE, FIVE, HUNDRED], quota=1000)
    assert packed is not None
    assert _fees(packed) == cover.floor  # z3 agrees


def test_the_quota_in_units_binds_the_floor() -> None:
    # 101.45 GB within a quota of 102 GB: 100 + 1 + 1 still; of 101 GB: none at all
    counted = [_cache("1gb", 1, 35.77), _cache("5gb", 5, 98.55, units=5)]
    counted.append(_cache("100gb", 100, 1387.0, units=100))
    fits = fee_floor(UNITS, counted, quota=102)
    assert fits is not None
    assert fits.floor == 1_458_540_000
    assert fee_floor(UNITS, counted, quota=101) is None


def test_a_unit_no_class_holds_has_no_floor() -> None:
    assert fee_floor([_unit("huge", 120.0)], [ONE, HUNDRED], quota=10) is None
    assert fee_floor([], [ONE], quota=10) is not None


def test_the_bounds_own_instances_are_a_packing_proven_cheapest_without_z3(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_z3(*_: object) -> None:
        raise AssertionError("z3 was asked")

    monkeypatch.setattr(placement, "cheapest_packing", no_z3)
    server = _server(ONE, FIVE, HUNDRED)
    # the relaxation counted one 1 GB and one 100 GB node: 1.45 GB short
    packed, _ = placement._proven_cheapest(UNITS, [ONE, HUNDRED], server, {"cache": server})
    assert packed is not None
    assert _fees(packed) == 1_458_540_000
    held = sorted(u.name for _, members in packed for u in members)
    assert held == sorted(u.name for u in UNITS)
    for shape, members in packed:
        assert sum(u.usage[0] for u in members) <= (shape.capacity[0] or 0)
        assert len(members) <= 16


def test_where_packing_is_harder_than_counting_z3_decides() -> None:
    # three resources of 0.6 GB: counted, two 1 GB nodes hold 1.8 GB; packed, no node
    # holds two of them, so every packing runs three ($107.31)
    units = [_unit(f"r{i}", 0.6) for i in range(3)]
    server = _server(ONE)
    cover = fee_floor(units, [ONE], quota=10)
    assert cover is not None
    assert cover.floor == 2 * ONE.fee_micro
    packed, repaired = placement._proven_cheapest(units, [ONE], server, {"cache": server})
    assert packed is None  # nothing is proven: the caller asks z3
    assert repaired is not None
    assert _fees(repaired[0]) == 3 * ONE.fee_micro
    exact = cheapest_packing(units, [ONE], quota=10)
    assert exact is not None
    assert _fees(exact) == 3 * ONE.fee_micro


def test_above_a_fee_gives_the_next_fee_level_and_its_instances() -> None:
    # 1.8 GB in three resources of 0.6 GB: two 1 GB nodes ($71.54) by counting, then
    # one 5 GB node ($98.55), then three 1 GB nodes ($107.31), each level paying more
    units = [_unit(f"r{i}", 0.6) for i in range(3)]
    levels: list[tuple[int, list[str]]] = []
    above = None
    for _ in range(3):
        cover = fee_floor(units, [ONE, FIVE], quota=10, above=above)
        assert cover is not None
        levels.append((cover.floor, sorted(s.instance_class.name for s in cover.shapes)))
        above = cover.floor
    assert levels == [
        (2 * ONE.fee_micro, ["1gb", "1gb"]),
        (FIVE.fee_micro, ["5gb"]),
        (3 * ONE.fee_micro, ["1gb", "1gb", "1gb"]),
    ]


def test_no_level_above_the_dearest_the_quota_allows() -> None:
    units = [_unit("r", 0.6)]
    # within a quota of two instances nothing pays more than two 5 GB nodes
    assert fee_floor(units, [ONE, FIVE], quota=2, above=2 * FIVE.fee_micro) is None
    top = fee_floor(units, [ONE, FIVE], quota=2, above=2 * FIVE.fee_micro - 1)
    assert top is not None
    assert top.floor == 2 * FIVE.fee_micro
