"""Local search over feasible packings (skaal.solver.incumbent)."""

from __future__ import annotations

from skaal.solver.bounds import Bins, Placement, Shared, lagrangian, lagrangian_start, relaxed
from skaal.solver.decompose import Unit, UnitOption
from skaal.solver.incumbent import improve


def _unit(name: str, size: int, dedicated: int = 20) -> Unit:
    options = (UnitOption("redis", 0, 1), UnitOption("dyn", dedicated, 0))
    return Unit((name,), options, (size, 0, 0, 1))


def _loads(bins: Bins) -> list[int]:
    return sorted(sum(u.usage[0] for u in placed) for placed in bins["redis"])


def test_relocation_fills_open_instances_before_paying_dedicated_costs() -> None:
    # Capacity 10 per instance, fee 5, two instances.  Start: a and b alone on
    # an instance each (10 in fees), c and d dedicated (40): 50.  The best
    # plan packs a+c and b+d: 10 in fees, nothing else.
    shared = {"redis": Shared("redis", 5, (10, None, None, None), 2)}
    a, b, c, d = _unit("a", 6), _unit("b", 6), _unit("c", 4), _unit("d", 4)
    placement: Placement = {"redis": [a, b], "dyn": [c, d]}
    placed, bins, cost = improve([a, b, c, d], shared, placement, {"redis": [[a], [b]]})
    assert cost == 10
    assert sorted(u.name for u in placed["redis"]) == ["a", "b", "c", "d"]
    assert _loads(bins) == [10, 10]


def test_an_instance_is_opened_when_its_savings_pay_the_fee() -> None:
    # Everything dedicated (3 × 20 = 60); one instance (fee 25) holds all
    # three (sizes 3): 25.
    shared = {"redis": Shared("redis", 25, (10, None, None, None), 1)}
    part = [_unit(n, 3) for n in "abc"]
    placed, bins, cost = improve(part, shared, {"dyn": list(part)}, {})
    assert cost == 25
    assert _loads(bins) == [9]
    assert "dyn" not in placed or not placed["dyn"]


def test_an_instance_not_worth_its_fee_is_closed() -> None:
    # Fee 50 but only 20 saved by its one unit: moving it back saves 30.
    shared = {"redis": Shared("redis", 50, (10, None, None, None), 1)}
    a = _unit("a", 3)
    placed, bins, cost = improve([a], shared, {"redis": [a]}, {"redis": [[a]]})
    assert (cost, bins, [u.name for u in placed["dyn"]]) == (20, {}, ["a"])


def test_improve_never_overfills_an_instance() -> None:
    # Sizes 6 and 6 cannot share an instance of 10, whatever the savings.
    shared = {"redis": Shared("redis", 0, (10, None, None, None), 1)}
    a, b = _unit("a", 6, dedicated=100), _unit("b", 6, dedicated=90)
    placed, bins, cost = improve([a, b], shared, {"dyn": [a, b]}, {})
    assert [u.name for u in placed["dyn"]] == ["b"]
    assert cost == 90  # a (the larger saving) on the instance, b dedicated
    assert _loads(bins) == [6]


def test_the_lagrangian_start_follows_the_multipliers() -> None:
    # Capacity 10; sizes 6, 6, 6 with savings 60 each.  At the bound's
    # multipliers every unit is priced to a tie or out of the instance, and the
    # start is a capacity-ignoring placement over the same units.
    shared = {"redis": Shared("redis", 0, (10, None, None, None), 1)}
    part = [_unit(n, 6, dedicated=60) for n in "abc"]
    start, _ = relaxed(part, shared)  # type: ignore[misc]
    bound, lam = lagrangian(part, shared, start)
    assert bound == 80
    assert set(lam) == {("redis", 0)}
    placed = lagrangian_start(part, shared, lam)
    assert sorted(u.name for units in placed.values() for u in units) == ["a", "b", "c"]
