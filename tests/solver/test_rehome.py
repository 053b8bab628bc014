"""Units a server at its quota spilled, given new instances of another running server.

Each case is small enough to follow by hand: server ``pg`` (and ``db``) runs
an instance already, the units were spilled to the dedicated option
``store``, and :class:`_Quotas` says what each server may still open.
"""

from __future__ import annotations

from msgspec.structs import replace

from skaal.solver.decompose import Unit
from skaal.solver.rehome import rehome
from skaal.solver.servers import Bins, Server
from tests.solver._factories import labels, writes_server, writes_unit


class _Quotas:
    def __init__(self, **left: int) -> None:
        self.left_ = dict(left)
        self.spent: dict[str, int] = {}

    def left(self, name: str) -> int:
        return self.left_[name]

    def spend(self, name: str, used: int) -> None:
        self.left_[name] -= used
        self.spent[name] = self.spent.get(name, 0) + used


def _running(server: Server, writes: float) -> tuple[Unit, Bins]:
    """A unit of ``writes`` writes/s on one instance of ``server``'s first class."""
    held = writes_unit(f"held-{server.name}", writes, (server.name, 0.0))
    return held, [(server.shapes[0], [held])]


def test_spilled_units_move_onto_a_new_instance_that_pays_its_fee() -> None:
    # pg's one class holds 100 writes/s for $10 a month, and its instance is full.
    # Spilled to the store: two units of 40 writes/s saving $6 and $7 each on pg
    # ($13 together, more than a new instance's $10), so a new instance takes both.
    pg = writes_server(("small", 10.0, 100.0))
    held, packed = _running(pg, 100.0)
    six = writes_unit("six", 40.0, ("pg", 1.0), ("store", 7.0))
    seven = writes_unit("seven", 40.0, ("pg", 1.0), ("store", 8.0))
    placement = {"pg": [held], "store": [six, seven]}
    bins = {"pg": packed}
    quotas = _Quotas(pg=5)
    assert rehome([six, seven], placement, bins, {"pg": pg}, quotas) == 2
    assert placement == {"pg": [held, seven, six], "store": []}
    assert labels(bins["pg"]) == [("small", ["held-pg"]), ("small", ["seven", "six"])]
    assert quotas.spent == {"pg": 1}


def test_an_instance_whose_units_save_less_than_its_fee_is_not_opened() -> None:
    # One unit saving $6 cannot pay a $10 instance: it stays on the store.
    pg = writes_server(("small", 10.0, 100.0))
    held, packed = _running(pg, 100.0)
    six = writes_unit("six", 40.0, ("pg", 1.0), ("store", 7.0))
    placement = {"pg": [held], "store": [six]}
    bins = {"pg": packed}
    assert rehome([six], placement, bins, {"pg": pg}, _Quotas(pg=5)) == 0
    assert placement == {"pg": [held], "store": [six]}
    assert bins == {"pg": packed}


def test_each_new_instance_is_weighed_on_its_own() -> None:
    # Three units of 60 writes/s: no two share an instance.  Saving $30, $20 and $4:
    # the first two pay their $10 instances, the third does not and stays.
    pg = writes_server(("small", 10.0, 100.0))
    held, packed = _running(pg, 100.0)
    units = [
        writes_unit(name, 60.0, ("pg", 0.0), ("store", saving))
        for name, saving in (("thirty", 30.0), ("twenty", 20.0), ("four", 4.0))
    ]
    placement = {"pg": [held], "store": list(units)}
    bins = {"pg": packed}
    quotas = _Quotas(pg=5)
    assert rehome(units, placement, bins, {"pg": pg}, quotas) == 2
    assert placement["store"] == [units[2]]
    assert labels(bins["pg"])[1:] == [("small", ["thirty"]), ("small", ["twenty"])]
    assert quotas.spent == {"pg": 2}


def test_new_instances_stay_within_the_quota_left() -> None:
    # Room for one more instance: the larger saving takes it.
    pg = writes_server(("small", 10.0, 100.0))
    held, packed = _running(pg, 100.0)
    low = writes_unit("low", 60.0, ("pg", 0.0), ("store", 15.0))
    high = writes_unit("high", 60.0, ("pg", 0.0), ("store", 40.0))
    placement = {"pg": [held], "store": [low, high]}
    bins = {"pg": packed}
    assert rehome([low, high], placement, bins, {"pg": pg}, _Quotas(pg=1)) == 1
    assert placement == {"pg": [held, high], "store": [low]}
    # and none when the quota has nothing left
    placement = {"pg": [held], "store": [low, high]}
    bins = {"pg": packed}
    assert rehome([low, high], placement, bins, {"pg": pg}, _Quotas(pg=0)) == 0
    assert placement == {"pg": [held], "store": [low, high]}


def test_a_server_without_instances_is_not_started() -> None:
    # Starting a server may need a network (a NAT gateway, a VPC connector): that is
    # the optimiser's choice, not this step's.
    pg = writes_server(("small", 10.0, 100.0))
    unit = writes_unit("u", 40.0, ("pg", 0.0), ("store", 50.0))
    placement: dict[str, list[Unit]] = {"store": [unit]}
    assert rehome([unit], placement, {"pg": []}, {"pg": pg}, _Quotas(pg=5)) == 0
    assert placement == {"store": [unit]}


def test_a_unit_goes_on_to_its_next_server_when_the_cheapest_has_no_quota_left() -> None:
    # The cache (its cheapest option) is at its quota, as it was when it spilled
    # the unit; db, dearer than the cache and cheaper than the store, takes it.
    cache = replace(writes_server(("node", 5.0, 100.0)), name="cache")
    db = replace(writes_server(("small", 10.0, 100.0)), name="db")
    held_cache, cache_bins = _running(cache, 100.0)
    held_db, db_bins = _running(db, 100.0)
    unit = writes_unit("u", 50.0, ("cache", 0.0), ("db", 2.0), ("store", 30.0))
    placement = {"cache": [held_cache], "db": [held_db], "store": [unit]}
    bins = {"cache": cache_bins, "db": db_bins}
    quotas = _Quotas(cache=0, db=3)
    servers = {"cache": cache, "db": db}
    assert rehome([unit], placement, bins, servers, quotas) == 1
    assert placement == {"cache": [held_cache], "db": [held_db, unit], "store": []}
    assert labels(bins["db"]) == [("small", ["held-db"]), ("small", ["u"])]
    assert labels(bins["cache"]) == [("node", ["held-cache"])]
