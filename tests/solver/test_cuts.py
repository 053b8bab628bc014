"""Packing cuts: units proven not to fit, and the pooled relaxation solved again without them
(:func:`skaal.solver.exact.unheld`, :mod:`skaal.solver.cuts`)."""

from __future__ import annotations

import pytest

from skaal.solver import solve
from skaal.solver.cuts import Core, Count, cuts_for
from skaal.solver.decompose import SCALE, Group, Unit, UnitOption
from skaal.solver.exact import unheld
from skaal.solver.place import first_fit
from skaal.solver.pooled import solve_pooled
from skaal.solver.servers import server_of
from skaal.testing import backend, catalog
from skaal.testing.catalogs import instance_class
from tests.solver._factories import blueprint, pg_server, res, writes_server, writes_unit


def _writes(name: str, writes: float) -> Unit:
    return writes_unit(name, writes, ("pg", 0.0), ("dyn", 100.0))


def test_units_over_half_an_instance_three_to_two_instances_are_named() -> None:
    server = writes_server(("small", 10.0, 100.0))
    small = server.shapes[0]
    units = [_writes("a", 60.0), _writes("b", 10.0), _writes("c", 55.0), _writes("d", 51.0)]
    # Two of a, c and d never share an instance: three need three.  b fits
    # anywhere, so it is in no set.
    assert unheld(units, [small, small]) == [[0, 2, 3]]
    assert unheld(units, [small, small, small]) == []


def test_a_unit_no_instance_holds_is_a_set_by_itself() -> None:
    server = writes_server(("small", 10.0, 100.0))
    units = [_writes("a", 20.0), _writes("b", 150.0), _writes("c", 30.0)]
    assert unheld(units, [server.shapes[0]]) == [[1]]


def test_disjoint_sets_are_named_up_to_the_limit() -> None:
    server = writes_server(("small", 10.0, 100.0))
    small = server.shapes[0]
    # Six units of 60 writes/s on two instances: each set of three cannot be held.
    units = [_writes(f"u{i}", 60.0) for i in range(6)]
    found = unheld(units, [small, small])
    assert found is not None
    assert [len(core) for core in found] == [3, 3]
    assert sorted(u for core in found for u in core) == list(range(6))
    one = unheld(units, [small, small], most=1)
    assert one is not None
    assert [len(core) for core in one] == [3]


def test_more_units_than_instances_hold_by_counting_need_no_search() -> None:
    # Fifteen units of 34 to 48 writes/s, two to an instance of 100: seven
    # instances hold fourteen.  z3 alone spends its whole budget on such
    # pigeonholes; counted, the fifteen are one set at once.
    server = writes_server(("small", 10.0, 100.0))
    assert unheld(_fifteen(), [server.shapes[0]] * 7) == [list(range(15))]


def test_capacities_past_a_c_int_are_rounded_towards_room() -> None:
    # A 5,000 GB instance holds two units of 2,500.000001 and 2,499.999999 GB
    # exactly; a third, of 1 GB, goes on a 10 GB one.  z3's weights are C
    # ints, so the sizes (in millionths of a GB) are scaled down by 3; rounded
    # the tight way (weights up, the bound down) the two no longer fit the
    # large instance, which would "prove" a packing impossible.
    server = server_of(
        backend(
            "pg",
            quota=10,
            classes=[
                instance_class(
                    name,
                    price=price,
                    size_gb=size,
                    reads_per_s=1000.0,
                    writes_per_s=1000.0,
                    resources=100,
                    parameters={},
                )
                for name, price, size in (("small", 1.0, 10.0), ("big", 10.0, 5000.0))
            ],
        )
    )
    small, big = server.shapes
    units = [
        Unit(("a",), (UnitOption("pg", 0, 0),), (2_500_000_001, SCALE, SCALE, SCALE)),
        Unit(("b",), (UnitOption("pg", 0, 0),), (2_499_999_999, SCALE, SCALE, SCALE)),
        Unit(("c",), (UnitOption("pg", 0, 0),), (SCALE, SCALE, SCALE, SCALE)),
    ]
    assert first_fit(units, [big, small]) is not None
    assert unheld(units, [big, small]) == []


def _fifteen() -> list[Unit]:
    """Fifteen units of 34 to 48 writes/s: two share an instance of 100, three never do."""
    return [_writes(f"u{w}", float(w)) for w in range(34, 49)]


def test_a_cut_lifts_the_relaxation_to_what_whole_instances_hold() -> None:
    server = writes_server(("small", 10.0, 100.0))
    grouped = [Group((u,)) for u in _fifteen()]
    # 615 writes/s in all: pooled, seven instances of 100 hold them ($70).
    relaxed = solve_pooled(grouped, {"pg": server})
    assert relaxed.proven
    assert relaxed.bound == pytest.approx(70.0)
    assert relaxed.counts is not None
    found = cuts_for(grouped, {"pg": server}, relaxed.counts, relaxed.instances)
    # One instance holds two of them, by counting: at most 2 x 7 of the fifteen.
    assert found == [Count("pg", tuple(range(15)), ((0, 2),))]
    cut = solve_pooled(grouped, {"pg": server}, cuts=found)
    # An eighth instance ($10), not a unit off the server ($100): $80.
    assert cut.proven
    assert cut.bound == pytest.approx(80.0)
    assert cut.counts is not None
    assert cuts_for(grouped, {"pg": server}, cut.counts, cut.instances) == []


def test_a_core_lifts_the_relaxation_where_no_two_units_share_an_instance() -> None:
    # Instances of 100 reads/s and 100 writes/s; units as (reads, writes):
    # no two share one (reads 130, or writes 105 to 120), but pooled, and
    # counted one unit over half a dimension at a time, three hold them ($30).
    server = pg_server([("small", 10.0, 100.0, 100.0, 0)])
    usages = [(60.0, 45.0), (70.0, 55.0), (15.0, 60.0), (35.0, 60.0)]
    grouped = [
        Group(
            (
                Unit(
                    (f"u{i}",),
                    (UnitOption("pg", 0, 0), UnitOption("dyn", 100 * SCALE, 1)),
                    (SCALE, round(reads * SCALE), round(writes * SCALE), SCALE),
                ),
            )
        )
        for i, (reads, writes) in enumerate(usages)
    ]
    relaxed = solve_pooled(grouped, {"pg": server})
    assert relaxed.bound == pytest.approx(30.0)
    assert relaxed.counts is not None
    found = cuts_for(grouped, {"pg": server}, relaxed.counts, relaxed.instances)
    # Two units fit an instance by counting: the four cannot be held, by z3.
    assert found == [Core("pg", (0, 1, 2, 3), 3, ((0, 3),))]
    # Not all four on three instances: a fourth instance ($10), not a unit
    # off the server ($100).
    cut = solve_pooled(grouped, {"pg": server}, cuts=found)
    assert cut.bound == pytest.approx(40.0)
    assert cut.instances["pg"] == ((server.shapes[0], 4),)


def test_a_plan_whose_units_did_not_fit_the_relaxation_is_proven_by_its_cuts() -> None:
    pg = backend(
        "pg",
        quota=10,
        classes=[
            instance_class(
                "small",
                price=10.0,
                size_gb=1000.0,
                reads_per_s=1000.0,
                writes_per_s=100.0,
                resources=100,
                parameters={},
            )
        ],
    )
    # Each map costs $6 off the server: seven instances ($70) for fourteen of
    # them and one on dyn ($6) is the cheapest plan, $76.  The relaxation,
    # pooled, fits fourteen into six instances ($66); its cuts take it to $76.
    dyn = backend("dyn", per_gb_month=6.0)
    specs = [
        res(f"M{w}", size_gb=1.0, reads_per_s=1.0, writes_per_s=float(w)) for w in range(34, 49)
    ]
    plan = solve(blueprint(*specs), catalog(backends=[pg, dyn]))
    assert plan.status == "optimal"
    assert plan.total_monthly_cost == pytest.approx(76.0)
    assert len(plan.instances) == 7
    assert sum(b.backend == "dyn" for b in plan.bindings) == 1
