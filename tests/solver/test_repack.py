"""A server's instances chosen again once its units are known (:mod:`skaal.solver.repack`)."""

from __future__ import annotations

from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.place import tightened
from skaal.solver.repack import MAX_UNITS, repacked
from skaal.solver.servers import Server, server_of
from skaal.testing import backend
from skaal.testing.catalogs import instance_class
from tests.solver._factories import labels


def _server() -> Server:
    """Memory-bound classes of a cache, as on the bundled aws catalog."""
    return server_of(
        backend(  # type: ignore[arg-type]
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
    for shape, members in two:
        assert shape.holds(tuple(sum(u.usage[d] for u in members) for d in range(4)))
    assert sum(shape.fee for shape, _ in two) == 159.87 + 319.01


def test_instances_already_cheapest_are_kept_as_they_are() -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    bins = [
        (by_name["large"], [_unit("a", 6.0), _unit("b", 4.0)]),
        (by_name["medium"], [_unit("c", 2.0)]),
    ]
    assert repacked("cache", server, bins) is bins


def test_servers_with_many_units_keep_their_instances() -> None:
    server = _server()
    by_name = {s.instance_class.name: s for s in server.shapes}
    many = [_unit(f"u{i:03d}", 0.1) for i in range(MAX_UNITS + 1)]
    bins = [
        (by_name["2xlarge"], many[:16]),
        *((by_name["2xlarge"], many[i : i + 16]) for i in range(16, len(many), 16)),
    ]
    assert repacked("cache", server, bins) is bins
