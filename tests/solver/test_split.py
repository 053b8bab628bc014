"""Shared quotas split between their servers when the relaxation's rounding passes them.

The cases are small enough to check by hand; the random ones hold the split
bound against the integer model's proven optimum, which every plan meets.
"""

from __future__ import annotations

import random

import pytest
from msgspec.structs import replace

from skaal.solver import pooled
from skaal.solver.decompose import SCALE, Group, Unit, UnitOption
from skaal.solver.pooled import solve_pooled
from skaal.solver.servers import Server, server_of
from skaal.solver.split import Split
from skaal.testing.catalogs import backend, instance_class

CENT = 0.005


def _server(name: str, fee: float, *, quota: int, group: str = "") -> Server:
    """Server ``name``: one class of 100 writes/s for ``fee`` a month."""
    item = instance_class(
        "one",
        price=fee,
        size_gb=1000.0,
        reads_per_s=1000.0,
        writes_per_s=100.0,
        resources=100,
        max_replicas=0,
        parameters={},
    )
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


def test_a_shared_quota_the_rounding_passes_is_split_into_whole_shares() -> None:
    # Each unit on its server costs half an instance ($20) instead of $30, so the
    # linear relaxation puts all six on servers: 1.5 instances of pa and 1.5 of pb,
    # $120, within the shared quota of 3 but four instances once rounded up.
    # Split: pa at most 1 (pb at most 2) holds two of a's units, the third $30
    # on the store, and b's three on 1.5 instances of pb: $40 + $30 + $60 = $130;
    # pa at most 2 is the same by symmetry.  Every plan meets one of the two, so
    # costs at least $130 (the best plan: one instance each, two units on the
    # store, $140).  The branch taken (pa at most 1, the lower share on a tie)
    # rounds up within the quota: 1 + 2 instances.
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
    assert answer.unsplit is not None
    assert answer.split == {"pa", "pb"}
    assert answer.unsplit.capped  # 2 + 2 instances, brought within the quota of 3
    assert answer.unsplit.bound == answer.bound


def test_quotas_of_their_own_are_not_split() -> None:
    # The same servers, each with a quota of 3 of its own: 1.5 + 1.5 round up
    # to 2 + 2 within them; nothing to split, the bound is the relaxation's.
    servers, grouped = _pair(quota=3, group="")
    answer = solve_pooled(grouped, servers, max_exact_columns=-1)
    assert answer.bound == pytest.approx(120.0, abs=CENT)
    assert answer.unsplit is None
    assert answer.split == frozenset()
    assert answer.capped == {}


def test_a_quota_the_rounding_keeps_is_not_split() -> None:
    # A shared quota of 4: the 1.5 + 1.5 instances round up to 4 within it.
    servers, grouped = _pair(quota=4, group="k")
    answer = solve_pooled(grouped, servers, max_exact_columns=-1)
    assert answer.bound == pytest.approx(120.0, abs=CENT)
    assert answer.unsplit is None


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


def _unsplit(highs: object, *_: object) -> Split:
    """:func:`.split.split_quotas` splitting nothing: the relaxation as solved."""
    value = float(highs.getInfo().objective_function_value)  # type: ignore[attr-defined]
    return Split(highs.getSolution().col_value, value, value)  # type: ignore[attr-defined]


def _plain_bound(grouped: list[Group], servers: dict[str, Server]) -> float:
    """The linear relaxation's optimum, its shared quota not split."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pooled, "split_quotas", _unsplit)
        return solve_pooled(grouped, servers, max_exact_columns=-1).bound


@pytest.mark.parametrize("seed", range(80))
def test_the_split_bound_lies_between_the_relaxations_and_the_integer_optimum(
    seed: int,
) -> None:
    # Every plan runs whole instances, so it meets one branch of each split;
    # the integer model's optimum (HiGHS, proven) is a bound every plan meets
    # too: the split bound may approach it but never pass it, and never falls
    # below the relaxation it splits.
    servers, grouped = _random_case(seed)
    exact = solve_pooled(grouped, servers)
    assert exact.proven
    split = solve_pooled(grouped, servers, max_exact_columns=-1)
    assert _plain_bound(grouped, servers) - CENT <= split.bound <= exact.bound + CENT


def test_the_random_cases_split_often_and_raise_the_bound() -> None:
    # The property above would hold with no split at all: here the split fires on
    # 15 of the same 80 cases and raises the bound on 11 of those (on the others
    # the branch reaching the relaxation's optimum is a whole share already).
    fired = raised = 0
    for seed in range(80):
        servers, grouped = _random_case(seed)
        answer = solve_pooled(grouped, servers, max_exact_columns=-1)
        if answer.unsplit is None:
            continue
        fired += 1
        assert answer.unsplit.bound == answer.bound
        raised += answer.bound > _plain_bound(grouped, servers) + CENT
    assert (fired, raised) == (15, 11)
