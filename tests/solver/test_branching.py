"""Instance counts branched on where rounding the linear relaxation passes a quota.

The cases are small enough to check by hand; the random ones hold the bound
after the dive against the integer model's proven optimum, which every plan
meets.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from msgspec.structs import replace

from skaal.solver.decompose import SCALE, Group, Unit, UnitOption
from skaal.solver.highs import quiet_highs
from skaal.solver.opening import BROKEN, Opening
from skaal.solver.pooled import solve_pooled
from skaal.solver.servers import Server, server_of
from skaal.testing.catalogs import backend
from tests.solver._factories import writes_class

CENT = 0.005


def _server(name: str, fee: float, *, quota: int, group: str = "") -> Server:
    """Server ``name``: one class of 100 writes/s for ``fee`` a month."""
    item = writes_class("one", fee, 100.0)
    return replace(server_of(backend(name, classes=[item], quota=quota)), group=group)


def _units(prefix: str, count: int, writes: float, *options: tuple[str, float]) -> Group:
    return Group(
        tuple(
            Unit(
                (f"{prefix}{i}",),
                tuple(UnitOption(b, round(c * SCALE), r) for r, (b, c) in enumerate(options)),
                (SCALE, SCALE, round(writes * SCALE), SCALE),
            )
            for i in range(count)
        )
    )


def _pair(quota: int, group: str) -> tuple[dict[str, Server], list[Group]]:
    """Servers pa and pb ($40 an instance of 100 writes/s), three units of 50 writes/s
    for each (or a dedicated store at $30 a unit)."""
    servers = {
        "pa": _server("pa", 40.0, quota=quota, group=group),
        "pb": _server("pb", 40.0, quota=quota, group=group),
    }
    grouped = [
        _units("a", 3, 50.0, ("pa", 0.0), ("store", 30.0)),
        _units("b", 3, 50.0, ("pb", 0.0), ("store", 30.0)),
    ]
    return servers, grouped


def test_a_shared_quota_the_rounding_passes_is_branched_into_whole_shares() -> None:
    # Each unit on its server costs half an instance ($20) instead of $30, so the
    # linear relaxation puts all six on servers: 1.5 instances of pa and 1.5 of pb,
    # $120, within the shared quota of 3 but four instances once rounded up.
    # Branched on pa's share: pa at most 1 holds two of a's units, the third $30
    # on the store, and b's three on 1.5 instances of pb: $40 + $30 + $60 = $130;
    # pa at least 2 (so pb at most 1) is the same by symmetry.  Every plan meets
    # one of the two, so costs at least $130 (the best plan: one instance each,
    # two units on the store, $140).  The branch taken (pa at most 1, the lower
    # side on a tie) rounds up within the quota: 1 + 2 instances.
    servers, grouped = _pair(quota=3, group="k")
    answer = solve_pooled(grouped, servers, max_exact_columns=-1)
    assert answer.bound == pytest.approx(130.0, abs=CENT)
    assert dict(answer.instances) == {
        "pa": ((servers["pa"].shapes[0], 1),),
        "pb": ((servers["pb"].shapes[0], 2),),
    }
    assert answer.counts == ((("pa", None, 2), ("store", None, 1)), (("pb", None, 3),))
    assert answer.capped == {}
    # The relaxation's own rounding is kept beside it, for placement to try.
    assert answer.own is not None
    assert answer.own.capped  # 2 + 2 instances, brought within the quota of 3
    assert answer.own.bound == answer.bound


def test_quotas_of_their_own_are_not_branched_on() -> None:
    # The same servers, each with a quota of 3 of its own: 1.5 + 1.5 round up
    # to 2 + 2 within them; nothing to branch on, the bound is the relaxation's.
    servers, grouped = _pair(quota=3, group="")
    answer = solve_pooled(grouped, servers, max_exact_columns=-1)
    assert answer.bound == pytest.approx(120.0, abs=CENT)
    assert answer.own is None
    assert answer.capped == {}


def test_a_quota_the_rounding_keeps_is_not_branched_on() -> None:
    # A shared quota of 4: the 1.5 + 1.5 instances round up to 4 within it.
    servers, grouped = _pair(quota=4, group="k")
    answer = solve_pooled(grouped, servers, max_exact_columns=-1)
    assert answer.bound == pytest.approx(120.0, abs=CENT)
    assert answer.own is None


def _random_case(seed: int) -> tuple[dict[str, Server], list[Group]]:
    """Two or three servers under one quota, six groups of one to four units."""
    rng = random.Random(seed)
    names = ["pa", "pb", "pc"][: rng.choice((2, 2, 3))]
    quota = rng.randint(2, 5)
    servers = {
        name: _server(name, rng.choice((30.0, 40.0, 55.0)), quota=quota, group="k")
        for name in names
    }
    grouped = []
    for g in range(6):
        options = [(name, 0.0) for name in rng.sample(names, rng.randint(1, len(names)))]
        options.append(("store", rng.choice((15.0, 25.0, 40.0))))
        grouped.append(
            _units(f"g{g}u", rng.randint(1, 4), rng.choice((20.0, 35.0, 60.0)), *options)
        )
    return servers, grouped


def _plain_bound(grouped: list[Group], servers: dict[str, Server]) -> float:
    """The linear relaxation's optimum, nothing branched on."""
    return solve_pooled(grouped, servers, max_exact_columns=-1, branch=False).bound


@pytest.mark.parametrize("seed", range(80))
def test_the_dives_bound_lies_between_the_relaxations_and_the_integer_optimum(
    seed: int,
) -> None:
    # Every plan runs whole instances, so it meets one side of each branching;
    # the integer model's optimum (HiGHS, proven) is a bound every plan meets
    # too: the dive's bound may approach it but never pass it, and never falls
    # below the relaxation it starts from.
    servers, grouped = _random_case(seed)
    exact = solve_pooled(grouped, servers)
    assert exact.proven
    dived = solve_pooled(grouped, servers, max_exact_columns=-1)
    assert _plain_bound(grouped, servers) - CENT <= dived.bound <= exact.bound + CENT


def test_the_random_cases_branch_often_and_raise_the_bound() -> None:
    # The property above would hold with no branching at all: here the dive moves
    # on 15 of the same 80 cases and raises the bound on 11 of those (on the
    # others a branch reaching the relaxation's optimum is whole already).
    fired = raised = 0
    for seed in range(80):
        servers, grouped = _random_case(seed)
        answer = solve_pooled(grouped, servers, max_exact_columns=-1)
        if answer.own is None:
            continue
        fired += 1
        assert answer.own.bound == answer.bound
        raised += answer.bound > _plain_bound(grouped, servers) + CENT
    assert (fired, raised) == (15, 11)


def test_counts_under_a_quota_counted_in_gb_are_branched_on_until_they_fit() -> None:
    # Server m counts its quota of 10 in units an instance uses (as Memorystore
    # counts GB): s1 uses 1 and holds 15 writes/s for $12, s5 uses 5 and holds 60
    # for $45 (cheaper per write, dearer per unit of the quota).  Thirteen units
    # of 10 writes/s, $30 each on the store.  The relaxation holds all 130 writes/s
    # on 4/3 of an s5 and 10/3 of an s1 (the quota to the unit): $100, which
    # rounds up to 2 x 5 + 4 = 14 units.  Branched on the s5 count: at most one
    # leaves 5 units for 70/15 s1, $45 + $56 = $101; at least two fill the quota
    # with 120 writes/s, a unit's worth on the store, $90 + $30 = $120.  So $101
    # bounds every plan, and that branch rounds to one s5 and five s1, within
    # the quota.
    small = writes_class("s1", 12.0, 15.0)
    large = writes_class("s5", 45.0, 60.0, quota_units=5)
    server = server_of(backend("m", classes=[small, large], quota=10))
    grouped = [_units("u", 13, 10.0, ("m", 0.0), ("store", 30.0))]
    plain = solve_pooled(grouped, {"m": server}, max_exact_columns=-1, branch=False)
    assert plain.bound == pytest.approx(100.0, abs=CENT)
    answer = solve_pooled(grouped, {"m": server}, max_exact_columns=-1)
    assert answer.bound == pytest.approx(101.0, abs=CENT)
    assert [(shape.instance_class.name, n) for shape, n in answer.instances["m"]] == [
        ("s1", 5),
        ("s5", 1),
    ]
    assert answer.capped == {}
    assert answer.counts == ((("m", None, 13),),)
    assert answer.own is not None
    assert answer.own.capped  # 2 + 4 rounded up, 14 units: brought within 10


def test_opening_rows_are_checked_at_once_as_one_at_a_time() -> None:
    # Rows (unit column, |g|, instance columns): broken when the unit column holds
    # more than |g| times the instances, beyond HiGHS's tolerance; a row with no
    # instance is broken by any unit on it; a row added is not reported again.
    rows = [(0, 2.0, (3, 4)), (1, 1.0, ()), (2, 3.0, (5,)), (0, 1.0, (4,)), (1, 2.0, (3, 4))]
    opening = Opening()
    for row in rows:
        opening.append(*row)
    assert len(opening) == 5
    assert opening.instances == [(3, 4), (), (5,), (4,)]  # one per family of columns
    value = [1.0, 0.5, 0.3, 0.25, 0.2, 0.1, 0.0]
    # row 0: 1 - 2 * 0.45 > 0; row 1: 0.5 - 0 > 0; row 2: 0.3 - 3 * 0.1 = 0;
    # row 3: 1 - 0.2 > 0; row 4: 0.5 - 2 * 0.45 < 0
    plain = [
        i
        for i, (unit, size, instances) in enumerate(rows)
        if value[unit] - size * sum(value[c] for c in instances) > BROKEN
    ]
    assert plain == [0, 1, 3]
    assert opening.broken(value) == plain
    highs = quiet_highs()
    highs.addVars(len(value), np.zeros(len(value)), np.ones(len(value)))
    opening.add(highs, [0, 3])
    assert highs.getNumRow() == 2
    assert opening.broken(value) == [1]
    assert opening.broken([v + BROKEN / 2 if i == 2 else v for i, v in enumerate(value)]) == [1]
