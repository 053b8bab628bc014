"""A server's instances chosen again once its units are known (:mod:`skaal.solver.repack`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace

from skaal.solver import pooled
from skaal.solver.cover import Cover, fee_floor
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.place import balanced_fit_partial, first_fit, tightened
from skaal.solver.repack import MAX_LARGE_UNITS, MAX_UNITS, MIN_GAIN, repacked, repacked_large
from skaal.solver.servers import Bins, Server, Shape, server_of
from skaal.testing import backend
from skaal.testing.catalogs import instance_class
from tests.solver._factories import (
    assert_users_plan,
    aws_quota_raised,
    fixed_unit,
    labels,
    pg_server,
    writes_server,
)


def _server() -> Server:
    """Memory-bound classes of a cache, as on the bundled aws catalog."""
    return server_of(
        backend(
            "cache",
            kinds=("map",),
            quota=300,
            classes=[
                instance_class(
                    name,
                    price=price,
                    size_gb=size,
                    reads_per_s=50_000.0,
                    writes_per_s=25_000.0,
                    resources=16,
                    parameters={},
                )
                for name, price, size in (
                    ("medium", 47.45, 2.49),
                    ("large", 159.87, 10.53),
                    ("xlarge", 319.01, 21.2),
                    ("2xlarge", 637.29, 42.54),
                )
            ],
        )
    )


def _unit(name: str, size_gb: float) -> Unit:
    return Unit(
        (name,), (UnitOption("cache", 0, 0),), (round(size_gb * SCALE), SCALE, SCALE, SCALE)
    )


def test_units_tightening_leaves_on_one_large_instance_move_to_two_cheaper_ones() -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    units = [_unit("a", 15.0), _unit("b", 4.8), _unit("c", 5.6), _unit("d", 0.3)]
    # 25.7 GB: only the 2xlarge ($637.29) holds them together, and tightening
    # (one instance's cheapest shape, pairs merged) keeps it.
    one = tightened([(by_name["2xlarge"], units)], server.shapes)
    assert labels(one) == [("2xlarge", ["a", "b", "c", "d"])]
    # A large and an xlarge hold them ($478.88): a (15 GB) on the xlarge,
    # which has room for 6.2 GB more, and 4.8 GB on the large at least.
    two = repacked("cache", server, one)
    assert sorted(name for name, _ in labels(two)) == ["large", "xlarge"]
    assert sorted(u for _, members in labels(two) for u in members) == ["a", "b", "c", "d"]
    assert _fits(two)
    assert sum(shape.fee for shape, _ in two) == 159.87 + 319.01


def test_instances_already_cheapest_are_kept_as_they_are() -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    bins = [
        (by_name["large"], [_unit("a", 6.0), _unit("b", 4.0)]),
        (by_name["medium"], [_unit("c", 2.0)]),
    ]
    assert repacked("cache", server, bins) is bins


def _no_per_shape_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """HiGHS's integer model of the units on every shape fails the test if it is asked
    (the linear relaxation of MIN_GAIN's gate may be)."""
    solve = pooled.solve_pooled

    def linear_only(*args: Any, **kwargs: Any) -> pooled.Pooled:
        if not kwargs.get("linear"):
            raise AssertionError("the per-shape model was solved")
        return solve(*args, **kwargs)

    monkeypatch.setattr(pooled, "solve_pooled", linear_only)


def test_instances_at_the_bound_on_every_packings_fees_settle_a_repack_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    units = [_unit("a", 15.0), _unit("b", 4.8), _unit("c", 5.6), _unit("d", 0.3)]
    # Every packing pays $478.88 at least (a needs an xlarge, the other 10.7 GB
    # a large more): the bound's own instances hold them, so HiGHS's model of
    # the units on every shape has nothing to add.
    assert fee_floor(units, server.shapes, server.quota) == Cover(
        round((159.87 + 319.01) * SCALE), (by_name["large"], by_name["xlarge"])
    )
    _no_per_shape_model(monkeypatch)
    two = repacked("cache", server, [(by_name["2xlarge"], units)])
    assert sorted(name for name, _ in labels(two)) == ["large", "xlarge"]
    assert _fits(two)


def test_instances_paying_the_bound_are_kept_without_the_per_shape_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    bins = [
        (by_name["large"], [_unit("a", 6.0), _unit("b", 4.0)]),
        (by_name["medium"], [_unit("c", 2.0)]),
    ]
    _no_per_shape_model(monkeypatch)
    assert repacked("cache", server, bins) is bins


def test_the_next_fee_level_settles_a_repack_the_bound_cannot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    # Three units of 1.3 GB: by counting, two mediums ($94.90) hold the 3.9 GB, but
    # no medium (2.49 GB) holds two of them.  The next fee level is three mediums
    # ($142.35, less than one large), which hold one each.
    units = [_unit(f"r{i}", 1.3) for i in range(3)]
    cover = fee_floor(units, server.shapes, server.quota)
    assert cover == Cover(round(2 * 47.45 * SCALE), (by_name["medium"], by_name["medium"]))
    asked: list[float] = []
    solve = pooled.solve_pooled

    def recorded(*args: Any, **kwargs: Any) -> pooled.Pooled:
        asked.append(kwargs["cutoff"])
        return solve(*args, **kwargs)

    monkeypatch.setattr(pooled, "solve_pooled", recorded)
    three = repacked("cache", server, [(by_name["2xlarge"], units)])
    assert labels(three) == [("medium", ["r0"]), ("medium", ["r1"]), ("medium", ["r2"])]
    # HiGHS's model was asked only for instances cheaper than the next level's
    assert asked == [pytest.approx(3 * 47.45 - 0.001)]


def test_servers_with_many_units_keep_their_instances() -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    many = [_unit(f"u{i:03d}", 0.1) for i in range(MAX_UNITS + 1)]
    bins = [
        (by_name["2xlarge"], many[:16]),
        *((by_name["2xlarge"], many[i : i + 16]) for i in range(16, len(many), 16)),
    ]
    assert repacked("cache", server, bins) is bins


def _crowded(units: int, quota: int) -> tuple[dict[str, Server], dict[str, Bins]]:
    """pg (small: 160 writes/s for $10; big: 320 for $100) holding ``units`` units of 10
    writes/s on big instances, two to three times what small ones would cost; db, which
    shares pg's quota of ``quota`` instances, runs one."""
    pg = replace(
        writes_server(("small", 10.0, 160.0), ("big", 100.0, 320.0), quota=quota), group="rds"
    )
    big = next(shape for shape in pg.shapes if shape.instance_class.name == "big")
    held = [fixed_unit(f"u{i:03d}", "pg", writes=10.0) for i in range(units)]
    bins: dict[str, Bins] = {
        "pg": [(big, held[i : i + 32]) for i in range(0, units, 32)],
        "db": [(big, [fixed_unit("stay", "db")])],
    }
    return {"pg": pg, "db": replace(pg, name="db")}, bins


def _fits(bins: Bins) -> bool:
    return all(
        shape.holds(tuple(sum(u.usage[d] for u in members) for d in range(4)))
        for shape, members in bins
    )


def test_a_server_of_many_units_gets_cheaper_instances_on_the_plan_kept() -> None:
    # 61 units of 10 writes/s on two big instances ($200): past MAX_UNITS, so
    # placement kept them; four small ones ($40) hold them, and the quota allows.
    servers, bins = _crowded(MAX_UNITS + 1, quota=10)
    before = sorted(u.name for _, members in bins["pg"] for u in members)
    assert repacked_large(bins, servers) == 1
    assert sorted(u.name for _, members in bins["pg"] for u in members) == before
    assert _fits(bins["pg"])
    assert sum(shape.fee for shape, _ in bins["pg"]) < 200.0


def test_the_repack_stays_within_the_quota_the_other_servers_leave() -> None:
    # A quota of 4 shared with db's one instance leaves pg 3: of the packings of 3
    # instances or fewer, only a big and two small ones ($120) cost less than $200.
    servers, bins = _crowded(MAX_UNITS + 1, quota=4)
    assert repacked_large(bins, servers) == 1
    assert sorted(name for name, _ in labels(bins["pg"])) == ["big", "small", "small"]
    assert _fits(bins["pg"])


def test_servers_of_few_or_very_many_units_are_left_to_placement() -> None:
    for units in (MAX_UNITS, MAX_LARGE_UNITS + 1):
        servers, bins = _crowded(units, quota=100)
        kept = bins["pg"]
        assert repacked_large(bins, servers) == 0
        assert bins["pg"] is kept


def test_the_aws_users_draw_of_1500_seed_1_repacks_its_elasticache_nodes(tmp_path: Path) -> None:
    # ElastiCache holds 110 units on five nodes, $14,970.11 a month, the plan
    # $1,967,865.49 against a bound of $1,965,336.51.  Repacked on the plan kept:
    # eight nodes for $13,324.69, and the plan stays valid.
    assert_users_plan(
        tmp_path, aws_quota_raised(tmp_path), 1500, seed=1, total=1_966_220.07, bound=1_965_336.51
    )


def test_a_server_of_many_units_gets_the_bounds_own_instances_when_they_hold_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 64 units of 10 writes/s on three small instances and a roomy one, $0.50
    # dearer for more reads/s than they use: every packing pays four small ones
    # at least ($40), which hold them, so they are taken without HiGHS's model.
    pg = pg_server([("small", 10.0, 1000.0, 160.0, 0), ("roomy", 10.5, 2000.0, 160.0, 0)])
    small, same = sorted(pg.shapes, key=lambda shape: shape.fee)
    held = [fixed_unit(f"u{i:03d}", "pg", writes=10.0) for i in range(64)]
    bins: dict[str, Bins] = {
        "pg": [(small, held[0:16]), (small, held[16:32]), (small, held[32:48]), (same, held[48:])]
    }
    _no_per_shape_model(monkeypatch)
    assert repacked_large(bins, {"pg": pg}) == 1
    assert [shape for shape, _ in bins["pg"]] == [small] * 4
    assert _fits(bins["pg"])


#: Writes/s of 64 units that fill four instances of 160 exactly, 16 each, in a way
#: neither first fit nor dot-product fit finds.
_TIGHT_WRITES = (
    (5, 2, 3, 18, 12, 24, 13, 5, 13, 5, 5, 24, 10, 9, 9, 3),
    (4, 4, 8, 4, 6, 26, 7, 14, 4, 4, 49, 2, 8, 6, 7, 7),
    (18, 17, 10, 17, 11, 20, 8, 5, 4, 13, 8, 6, 15, 2, 2, 4),
    (40, 3, 7, 13, 16, 4, 8, 4, 1, 6, 7, 9, 4, 17, 8, 13),
)


def _tightly_held(
    other: tuple[str, float, float, float, int],
) -> tuple[Server, Shape, list[Unit], dict[str, Bins]]:
    """pg with a small class (1,000 reads/s and 160 writes/s for $10) and ``other``; the
    units of :data:`_TIGHT_WRITES` on three small instances and one of ``other``."""
    pg = pg_server([("small", 10.0, 1000.0, 160.0, 0), other])
    small, last = sorted(pg.shapes, key=lambda shape: shape.fee)
    held = [
        [fixed_unit(f"u{b}{i:02d}", "pg", writes=float(w)) for i, w in enumerate(writes)]
        for b, writes in enumerate(_TIGHT_WRITES)
    ]
    bins: dict[str, Bins] = {"pg": [*((small, units) for units in held[:3]), (last, held[3])]}
    return pg, small, [unit for row in held for unit in row], bins


def test_a_server_of_many_units_with_little_to_gain_is_left_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The same instances, the units' writes now filling them exactly: every
    # packing still pays four small ones at least, but the greedy fits cannot
    # pack the units into them, and the linear relaxation leaves 1.2 % of the
    # fees to gain, under MIN_GAIN, so HiGHS is not asked.
    pg, small, units, bins = _tightly_held(("roomy", 10.5, 2000.0, 160.0, 0))
    assert first_fit(units, [small] * 4) is None
    assert balanced_fit_partial(units, [small] * 4)[1]
    kept = bins["pg"]
    assert MIN_GAIN > (40.5 - 40.0) / 40.5
    _no_per_shape_model(monkeypatch)
    assert repacked_large(bins, {"pg": pg}) == 0
    assert bins["pg"] is kept


def test_the_aws_users_draw_of_1500_seed_10_repacks_its_nodes_at_the_fee_bound(
    tmp_path: Path,
) -> None:
    # ElastiCache's 104 units on four nodes, $12,103.40: the bound on every
    # packing's fees is $10,828.82, and its own nodes hold them (HiGHS's first
    # cheaper counts, $10,944.89, needed z3 to pack).
    assert_users_plan(
        tmp_path, aws_quota_raised(tmp_path), 1500, seed=10, total=2_171_788.50, bound=2_171_263.00
    )


def test_a_server_of_many_units_is_packed_by_z3_where_the_greedy_fits_fail() -> None:
    # The units of _TIGHT_WRITES on three small instances and a big one ($130):
    # every packing pays four small ones at least, which only an exact packing
    # fills (the greedy fits leave units over), so the fee bound settles
    # nothing; HiGHS's first cheaper counts are those four, and z3 packs the
    # units into them within LARGE_RLIMIT.
    pg, small, units, bins = _tightly_held(("big", 100.0, 2000.0, 320.0, 0))
    assert repacked_large(bins, {"pg": pg}) == 1
    assert [shape for shape, _ in bins["pg"]] == [small] * 4
    assert _fits(bins["pg"])
    assert sorted(u.name for _, members in bins["pg"] for u in members) == sorted(
        u.name for u in units
    )
