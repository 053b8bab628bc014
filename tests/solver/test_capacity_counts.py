"""The counting proof of step 3 with count pools beside the servers, on hand-built units.

A backend whose count quota the units could pass (:mod:`skaal.solver.count_rows`)
holds, per pool, room // (the fewest one resource creates there) of them, and
nothing bounds it in any other dimension; a unit that one of its pools does not
count may always go there, and is not counted at all.
"""

from __future__ import annotations

from skaal.solver.capacity import overflow
from skaal.solver.count_rows import CountRows
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.servers import server_of
from skaal.testing import backend
from skaal.testing.catalogs import instance_class

#: One instance of 10 resources at most, 2 of them in its quota: 20 resources.
_SMALL = backend(
    "postgres",
    read_latency_ms=2.0,
    durability="persistent",
    quota=2,
    classes=[instance_class("db.small", price=11.68, size_gb=100.0, resources=10)],
)


def _unit(name: str, *, size_gb: float = 1.0) -> Unit:
    options = (UnitOption("tables", 1_000_000, 0), UnitOption("postgres", 2_000_000, 1))
    return Unit((name,), options, (round(size_gb * SCALE), 0, 0, SCALE))


def _rows(units: list[Unit], rooms: dict[str, int], *, each: int = 1) -> CountRows:
    """The ``tables`` backend's pools, one per region of ``rooms``; the units spread over
    them in turn, each creating ``each``."""
    regions = sorted(rooms)
    weights = {
        u.name: {("tables", "tables", regions[i % len(regions)]): each} for i, u in enumerate(units)
    }
    return CountRows(
        {("tables", "tables", r): n for r, n in rooms.items()}, weights, frozenset({"tables"})
    )


def test_the_pools_of_every_region_and_the_servers_hold_together() -> None:
    servers = {"postgres": server_of(_SMALL)}
    units = [_unit(f"M{i:02d}") for i in range(31)]
    rows = _rows(units, {"eu-west-1": 5, "eu-central-1": 5})
    short = overflow(units, servers, rows)
    assert short is not None
    assert (short.dimension, short.demand, short.most) == (3, 31.0, 30.0)
    assert short.backends == ("postgres", "tables")
    (term,) = short.counted
    assert (term.rooms, term.most) == ((("eu-central-1", 5, 1), ("eu-west-1", 5, 1)), 10)
    assert len(short.members) == 31
    # one fewer fits: 20 on the servers, 5 in each region
    assert (
        overflow(units[:30], servers, _rows(units[:30], {"eu-west-1": 5, "eu-central-1": 5}))
        is None
    )
    # without the pools the servers alone are counted (the units reach tables too: not only servers)
    assert overflow(units, servers) is None


def test_a_resource_creating_several_counts_what_the_room_holds_of_them() -> None:
    servers = {"postgres": server_of(_SMALL)}
    units = [_unit(f"Q{i:02d}") for i in range(24)]
    # 10 topics of room, 3 a resource: 3 of them, and 20 on the servers
    assert overflow(units[:23], servers, _rows(units[:23], {"": 10}, each=3)) is None
    short = overflow(units, servers, _rows(units, {"": 10}, each=3))
    assert short is not None
    assert (short.demand, short.most, short.counted[0].most) == (24.0, 23.0, 3)


def test_a_unit_no_pool_counts_makes_the_backend_unbounded() -> None:
    servers = {"postgres": server_of(_SMALL)}
    units = [_unit(f"M{i:02d}") for i in range(40)]
    rows = _rows(units[:-1], {"us-east-1": 5})  # the last one creates nothing counted
    assert overflow(units, servers, rows) is None


def test_the_pools_take_the_units_a_server_dimension_needs_most() -> None:
    # storage: 100 GB an instance, 200 GB in all; ten units of 30 GB and ten of 1 GB need
    # 310 GB; a pool of room 3 takes three of the 30 GB ones (90 GB): 220 GB still over
    servers = {"postgres": server_of(_SMALL)}
    units = [_unit(f"B{i}", size_gb=30.0) for i in range(10)]
    units += [_unit(f"S{i}", size_gb=1.0) for i in range(10)]
    short = overflow(units, servers, _rows(units, {"us-east-1": 3}))
    assert short is not None
    assert (short.dimension, short.demand, short.most) == (0, 220.0, 200.0)
    # room for four takes 120 GB: 190 GB fit
    assert overflow(units, servers, _rows(units, {"us-east-1": 4})) is None
