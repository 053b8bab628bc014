"""Instances closed when room elsewhere and dedicated options hold their units for less.

Each case is small enough to follow by hand: servers ``pg`` and ``db`` (one
class each: 100 writes/s, $10 a month) run instances, and the dedicated
option ``store`` takes any unit at its own price.
"""

from __future__ import annotations

from pathlib import Path

from msgspec.structs import replace

from skaal.solver.consolidate import consolidate
from skaal.solver.decompose import SCALE, Unit
from skaal.solver.servers import Bins, Server
from tests.solver._factories import (
    assert_users_plan,
    fixed_unit,
    labels,
    placed_cost,
    writes_server,
    writes_unit,
)


def _servers() -> dict[str, Server]:
    pg = writes_server(("small", 10.0, 100.0))
    return {"pg": pg, "db": replace(pg, name="db")}


def test_an_instances_unit_moves_into_another_servers_room_and_the_instance_closes() -> None:
    # pg runs two full-ish instances; its second holds a unit of 30 writes/s ($1 on pg,
    # $3 on db, $50 on the store).  db's instance has 60 writes/s of room: the unit
    # goes there for $2 more, and pg's $10 instance closes.  $8 less.
    servers = _servers()
    shape = servers["pg"].shapes[0]
    full = fixed_unit("full", "pg", 100.0)
    thirty = writes_unit("thirty", 30.0, ("pg", 1.0), ("db", 3.0), ("store", 50.0))
    forty = fixed_unit("forty", "db", 40.0)
    placement = {"pg": [full, thirty], "db": [forty]}
    bins: dict[str, Bins] = {"pg": [(shape, [full]), (shape, [thirty])], "db": [(shape, [forty])]}
    before = placed_cost(placement, bins)
    assert consolidate(placement, bins, servers) == 1
    assert placement == {"pg": [full], "db": [forty, thirty]}
    assert labels(bins["pg"]) == [("small", ["full"])]
    assert labels(bins["db"]) == [("small", ["forty", "thirty"])]
    assert before - placed_cost(placement, bins) == 8.0


def test_units_with_no_room_anywhere_go_to_their_dedicated_option_when_that_pays() -> None:
    # pg's second instance holds two units saving $3 and $4 on pg against the store:
    # no room elsewhere, so both go to the store for $7 more, less than its $10.
    servers = _servers()
    shape = servers["pg"].shapes[0]
    full = fixed_unit("full", "pg", 100.0)
    three = writes_unit("three", 50.0, ("pg", 1.0), ("store", 4.0))
    four = writes_unit("four", 50.0, ("pg", 1.0), ("store", 5.0))
    placement = {"pg": [full, three, four]}
    bins: dict[str, Bins] = {"pg": [(shape, [full]), (shape, [three, four])]}
    before = placed_cost(placement, bins)
    assert consolidate(placement, bins, servers) == 1
    assert placement == {"pg": [full], "store": [four, three]}  # the larger first, then by name
    assert before - placed_cost(placement, bins) == 3.0


def test_an_instance_stays_when_moving_its_units_costs_its_fee_or_more() -> None:
    # The same two units saving $5 and $6: $11 more on the store than the $10 fee.
    servers = _servers()
    shape = servers["pg"].shapes[0]
    full = fixed_unit("full", "pg", 100.0)
    five = writes_unit("five", 50.0, ("pg", 1.0), ("store", 6.0))
    six = writes_unit("six", 50.0, ("pg", 1.0), ("store", 7.0))
    placement = {"pg": [full, five, six]}
    bins: dict[str, Bins] = {"pg": [(shape, [full]), (shape, [five, six])]}
    assert consolidate(placement, bins, servers) == 0
    assert labels(bins["pg"]) == [("small", ["five", "six"]), ("small", ["full"])]


def test_a_servers_last_instance_never_closes() -> None:
    servers = _servers()
    shape = servers["pg"].shapes[0]
    cheap = writes_unit("cheap", 10.0, ("pg", 1.0), ("store", 1.5))
    placement = {"pg": [cheap]}
    bins: dict[str, Bins] = {"pg": [(shape, [cheap])]}
    assert consolidate(placement, bins, servers) == 0
    assert placement == {"pg": [cheap]}


def _unit(name: str, writes: float, resources: int, *options: tuple[str, float]) -> Unit:
    """A unit of ``writes`` writes/s counted as ``resources`` resources."""
    base = writes_unit(name, writes, *options)
    return replace(base, usage=(*base.usage[:3], resources * SCALE))


def test_room_a_failed_try_took_is_given_back() -> None:
    # pg's first instance is tried first: its 60 writes/s unit fits db's room (60
    # left), but its other unit (as many resources as 60 maps) fits nowhere else and
    # cannot leave, so it stays, and the room it took comes back.  pg's second
    # instance then moves its 50 writes/s unit into that room and closes.
    servers = _servers()
    small = servers["pg"].shapes[0]
    sixty = _unit("a-sixty", 60.0, 1, ("pg", 1.0), ("db", 1.5))
    stuck = _unit("b-stuck", 10.0, 60, ("pg", 1.0))
    fifty = _unit("fifty", 50.0, 50, ("pg", 1.0), ("db", 2.0))
    forty = fixed_unit("forty", "db", 40.0)
    placement = {"pg": [sixty, stuck, fifty], "db": [forty]}
    bins: dict[str, Bins] = {
        "pg": [(small, [sixty, stuck]), (small, [fifty])],
        "db": [(small, [forty])],
    }
    assert consolidate(placement, bins, servers) == 1
    assert labels(bins["pg"]) == [("small", ["a-sixty", "b-stuck"])]
    assert labels(bins["db"]) == [("small", ["fifty", "forty"])]


def test_an_instance_shrinks_to_a_cheaper_class_when_the_units_it_drops_cost_less() -> None:
    # pg's only instance is large ($20, 200 writes/s): 80 writes/s that cannot leave and
    # a unit of 50 saving $3 on pg.  A small one ($10, 100 writes/s) keeps the first; the
    # second goes to the store for $3: $7 less.  (A server's last instance shrinks,
    # never closes.)
    pg = writes_server(("small", 10.0, 100.0), ("large", 20.0, 200.0))
    _, large = pg.shapes
    stuck = fixed_unit("stuck", "pg", 80.0)
    three = writes_unit("three", 50.0, ("pg", 1.0), ("store", 4.0))
    placement = {"pg": [stuck, three]}
    bins: dict[str, Bins] = {"pg": [(large, [stuck, three])]}
    before = placed_cost(placement, bins)
    assert consolidate(placement, bins, {"pg": pg}) == 1
    assert labels(bins["pg"]) == [("small", ["stuck"])]
    assert placement == {"pg": [stuck], "store": [three]}
    assert before - placed_cost(placement, bins) == 7.0


def test_a_shrinking_instance_keeps_the_units_costing_most_to_move() -> None:
    # A large instance holds three units of 60 writes/s saving $2, $14 and $5 on pg.
    # Closed (pg runs another, full), they would cost $21 more for its $20; shrunk to
    # small (100 writes/s, $10 less), it keeps the $14 one, and the others leave for
    # $7: $3 less.
    pg = writes_server(("small", 10.0, 100.0), ("large", 20.0, 200.0))
    _, large = pg.shapes
    full = fixed_unit("full", "pg", 200.0)
    two, fourteen, five = (
        writes_unit(name, 60.0, ("pg", 1.0), ("store", 1.0 + saving))
        for name, saving in (("two", 2.0), ("fourteen", 14.0), ("five", 5.0))
    )
    placement = {"pg": [full, two, fourteen, five]}
    bins: dict[str, Bins] = {"pg": [(large, [full]), (large, [two, fourteen, five])]}
    before = placed_cost(placement, bins)
    assert consolidate(placement, bins, {"pg": pg}) == 1
    assert labels(bins["pg"]) == [("large", ["full"]), ("small", ["fourteen"])]
    assert before - placed_cost(placement, bins) == 3.0


def test_the_gcp_users_draw_of_200_seed_2_closes_cloud_sql_instances_into_room_elsewhere(
    tmp_path: Path,
) -> None:
    # Closing Cloud SQL instances whose resources fit room left elsewhere takes $289.01
    # off ($339,245.13 without); the plan stays valid.  (Before Pub/Sub queues were
    # billed one delivery a message, not two reads: $340,484.87, bound $340,124.63,
    # and the close took $195.15 off $340,680.02.)
    assert_users_plan(tmp_path, "gcp", 200, seed=2, total=338_956.12, bound=338_547.25)
