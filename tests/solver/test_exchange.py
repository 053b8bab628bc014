"""A unit on a dedicated option taking the place of a server's unit that saves less there.

Each case is one server ``pg`` with packed instances (one class: 100
writes/s, $50 a month) and units on the dedicated option ``store``, small
enough to follow by hand; a unit's *saving* is what its ``store`` option
costs more than its ``pg`` one.
"""

from __future__ import annotations

from skaal.solver.decompose import SCALE, Unit
from skaal.solver.exchange import exchange
from skaal.solver.servers import Bins
from tests.solver._factories import writes_server, writes_unit


def _cost(placement: dict[str, list[Unit]]) -> float:
    return (
        sum(
            next(o.cost for o in unit.options if o.backend == backend)
            for backend, units in placement.items()
            for unit in units
        )
        / SCALE
    )


def test_a_unit_saving_more_takes_the_place_of_one_saving_less() -> None:
    # The instance is full: 60 writes/s saving $2, 40 saving $30.  On the store, a
    # unit of 50 saving $20: it fits where the $2 one is (40 + 50 <= 100), and the
    # $2 one goes to the store.  $18 less.
    server = writes_server(("large", 50.0, 100.0))
    shape = server.shapes[0]
    two = writes_unit("two", 60.0, ("pg", 1.0), ("store", 3.0))
    thirty = writes_unit("thirty", 40.0, ("pg", 0.0), ("store", 30.0))
    twenty = writes_unit("twenty", 50.0, ("pg", 5.0), ("store", 25.0))
    placement = {"pg": [two, thirty], "store": [twenty]}
    bins: Bins = [(shape, [two, thirty])]
    before = _cost(placement)
    assert exchange(placement, {"pg": bins}, {"pg": server}) == 1
    assert placement == {"pg": [twenty, thirty], "store": [two]}
    assert bins == [(shape, [twenty, thirty])]
    assert before - _cost(placement) == 18.0


def test_the_unit_going_out_is_the_one_saving_least_among_those_it_can_replace() -> None:
    # Three instances.  The $20 unit of 50 writes/s could replace the $5 unit of 60
    # (first instance, 20 left: 80) or the $2 one (third, full: 60): the $2 one
    # goes.  It cannot replace the $1 unit of 20 (20 + 20 < 50), nor the unit with
    # no dedicated option (second instance, 30 left).
    server = writes_server(("large", 50.0, 100.0))
    shape = server.shapes[0]
    five = writes_unit("five", 60.0, ("pg", 0.0), ("store", 5.0))
    one = writes_unit("one", 20.0, ("pg", 0.0), ("store", 1.0))
    heavy = writes_unit("heavy", 70.0, ("pg", 0.0))  # no dedicated option: never leaves
    two = writes_unit("two", 60.0, ("pg", 0.0), ("store", 2.0))
    fill = writes_unit("fill", 40.0, ("pg", 0.0), ("store", 50.0))
    twenty = writes_unit("twenty", 50.0, ("pg", 0.0), ("store", 20.0))
    bins: Bins = [(shape, [five, one]), (shape, [heavy]), (shape, [two, fill])]
    placement = {"pg": [five, one, heavy, two, fill], "store": [twenty]}
    assert exchange(placement, {"pg": bins}, {"pg": server}) == 1
    assert bins[2][1] == [twenty, fill]
    assert placement["store"] == [two]


def test_no_exchange_when_the_unit_saves_no_more_than_any_it_could_replace() -> None:
    server = writes_server(("large", 50.0, 100.0))
    shape = server.shapes[0]
    ten = writes_unit("ten", 60.0, ("pg", 0.0), ("store", 10.0))
    forty = writes_unit("forty", 40.0, ("pg", 0.0), ("store", 40.0))
    also_ten = writes_unit("also-ten", 50.0, ("pg", 0.0), ("store", 10.0))
    placement = {"pg": [ten, forty], "store": [also_ten]}
    bins: Bins = [(shape, [ten, forty])]
    assert exchange(placement, {"pg": bins}, {"pg": server}) == 0
    assert placement == {"pg": [ten, forty], "store": [also_ten]}


def test_the_largest_saving_is_placed_first_and_a_unit_it_let_in_may_go_out_again() -> None:
    # One full instance: a unit of 100 writes/s saving $1.  On the store: 100
    # saving $9 and 100 saving $4.  The $9 one replaces the $1 one; the $4 one
    # then finds only the $9 one, which saves more, and stays out.
    server = writes_server(("large", 50.0, 100.0))
    shape = server.shapes[0]
    one = writes_unit("one", 100.0, ("pg", 0.0), ("store", 1.0))
    nine = writes_unit("nine", 100.0, ("pg", 0.0), ("store", 9.0))
    four = writes_unit("four", 100.0, ("pg", 0.0), ("store", 4.0))
    placement = {"pg": [one], "store": [four, nine]}
    bins: Bins = [(shape, [one])]
    assert exchange(placement, {"pg": bins}, {"pg": server}) == 1
    assert placement == {"pg": [nine], "store": [four, one]}
