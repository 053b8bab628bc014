"""Repair when a server's quota runs out: no unit may be lost on the way.

When the relaxation's instances cannot hold a server's units and opening
more runs into the quota, :func:`skaal.solver.optimise._repair` packs the
units afresh, those with no dedicated option first, and hands back what
still fits nowhere (moved to a dedicated option by the caller).  The units
that must stay on the server once vanished from both the packing and the
left-overs: the plan priced them without any instance, answered below its
own bound and was even called optimal (the ``users`` draw of 5,000
resources on aws, seed 1).
"""

from __future__ import annotations

from pathlib import Path

from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.optimise import _repair
from skaal.solver.place import first_fit_partial
from skaal.solver.servers import Server, server_of
from skaal.testing import backend
from skaal.testing.catalogs import instance_class
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, read_catalog


def _server(quota: int) -> Server:
    """One class of 10 writes/s for $5 a month, ``quota`` instances at most."""
    return server_of(
        backend(  # type: ignore[arg-type]
            "pg",
            kinds=("map",),
            quota=quota,
            classes=[
                instance_class(
                    "only",
                    price=5.0,
                    size_gb=1000.0,
                    reads_per_s=1000.0,
                    writes_per_s=10.0,
                    resources=100,
                    parameters={},
                )
            ],
        )
    )


def _unit(name: str, writes: float, *, dedicated: bool) -> Unit:
    options = [UnitOption("pg", 0, 0)]
    if dedicated:
        options.append(UnitOption("dyn", 3 * SCALE, 1))
    return Unit((name,), tuple(options), (SCALE, SCALE, round(writes * SCALE), SCALE))


def _names(units: list[Unit]) -> list[str]:
    return sorted(u.name for u in units)


def test_first_fit_into_no_instance_leaves_every_unit_those_placed_first_first() -> None:
    must = [_unit("m", 6.0, dedicated=False)]
    may = [_unit("a", 7.0, dedicated=True), _unit("b", 1.0, dedicated=True)]
    bins, left = first_fit_partial(may, [], before=must)
    assert bins == []
    assert [u.name for u in left] == ["m", "a", "b"]


def test_repair_past_the_quota_keeps_every_unit_packed_or_left_over() -> None:
    # 80 units of 6 writes/s: an instance of 10 holds one.  The quota of 50
    # leaves 30 over after the first growth, so repair packs again, the 40
    # units without a dedicated option first: all of them get an instance,
    # 10 of the 40 others too, and 30 of those are left over for their option.
    # (Over 32 units left, each round packs only what is left: the path that
    # once dropped the first 40.)
    must = [_unit(f"m{i:02}", 6.0, dedicated=False) for i in range(40)]
    may = [_unit(f"d{i:02}", 6.0, dedicated=True) for i in range(40)]
    server = _server(quota=50)
    packed, left = _repair([*must, *may], [], server, {"pg": server})
    held = [u for _, members in packed for u in members]
    assert len(packed) == 50
    assert _names(held + left) == _names([*must, *may])
    assert len(held) == len({id(u) for u in held})
    assert set(_names(must)) <= set(_names(held))
    assert len(left) == 30
    assert all(len(u.options) == 2 for u in left)


def test_the_users_draw_of_5000_on_aws_is_a_valid_plan(tmp_path: Path) -> None:
    # The draw whose repair lost 382 units on rds-postgres-multi-az: the plan
    # said "optimal" at $9,969,807.39, below its own bound.
    blueprint = draw_blueprint(write_app(tmp_path / "users5000.py", "users", 5000, seed=1))
    plan = solve(blueprint, load_catalog("aws"))
    assert audit(plan, blueprint, read_catalog("aws")) == []
    assert plan.lower_bound is not None
    assert plan.lower_bound <= plan.total_monthly_cost
