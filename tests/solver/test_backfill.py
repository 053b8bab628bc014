"""Units on dedicated options moved into the room packed instances have left.

Each case is a server's packed instances and units on a dedicated option,
small enough to follow by hand.
"""

from __future__ import annotations

from skaal.solver.backfill import backfill
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.servers import Bins
from tests.solver._factories import writes_server, writes_unit


def test_units_move_into_room_left_the_largest_saving_first() -> None:
    # One instance of 100 writes/s holds 70 of them: 30 left.  On the store: a
    # unit of 20 writes/s saving $5 by moving, one of 25 saving $8, one of 40
    # (no room for it), one whose server option is dearer than the store.  The
    # $8 unit moves first and takes 25 of the 30; the $5 one no longer fits.
    server = writes_server(("large", 50.0, 100.0))
    shape = server.shapes[0]
    held = writes_unit("held", 70.0, ("pg", 0.0), ("store", 40.0))
    bins: Bins = [(shape, [held])]
    five = writes_unit("five", 20.0, ("pg", 1.0), ("store", 6.0))
    eight = writes_unit("eight", 25.0, ("pg", 2.0), ("store", 10.0))
    large = writes_unit("large", 40.0, ("pg", 0.0), ("store", 90.0))
    dearer = writes_unit("dearer", 1.0, ("store", 3.0), ("pg", 4.0))
    placement = {"pg": [held], "store": [five, eight, large, dearer]}
    assert backfill(placement, {"pg": bins}, {"pg": server}) == 1
    assert placement == {"pg": [held, eight], "store": [five, large, dearer]}
    assert bins == [(shape, [held, eight])]


def test_units_go_to_the_first_instance_with_room_in_every_dimension() -> None:
    # Two instances: the first has writes to spare but holds all the 100 resources
    # its class does (a unit of 100 co-located resources), the second has room in
    # every dimension for a unit of one resource and 5 writes/s.
    server = writes_server(("large", 50.0, 100.0))
    shape = server.shapes[0]
    crowd = Unit(("crowd",), (UnitOption("pg", 0, 0),), (SCALE, SCALE, SCALE, 100 * SCALE))
    held = writes_unit("held", 90.0, ("pg", 0.0))
    bins: Bins = [(shape, [crowd]), (shape, [held])]
    small = writes_unit("small", 5.0, ("pg", 0.0), ("store", 1.0))
    placement = {"pg": [crowd, held], "store": [small]}
    assert backfill(placement, {"pg": bins}, {"pg": server}) == 1
    assert bins[0][1] == [crowd]
    assert bins[1][1] == [held, small]


def test_a_server_without_instances_takes_nothing() -> None:
    # Moving there would open an instance (a fee, maybe a quota or a network):
    # that is the optimiser's choice, not this step's.
    server = writes_server(("large", 50.0, 100.0))
    unit = writes_unit("u", 5.0, ("pg", 0.0), ("store", 1.0))
    placement: dict[str, list[Unit]] = {"store": [unit]}
    assert backfill(placement, {"pg": []}, {"pg": server}) == 0
    assert placement == {"store": [unit]}
