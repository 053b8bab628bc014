"""A new instance for units on dedicated options, paid for by closing one saving less.

Each case is small enough to follow by hand: servers ``pg`` and ``db`` (one
class each: 100 writes/s, $10 a month) run instances already, and units sit
on the dedicated option ``store``; a unit's *saving* on a server is what its
``store`` option costs more than its option there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from msgspec.structs import replace

from skaal.solver.decompose import SCALE, Unit
from skaal.solver.feasibility import build_problem
from skaal.solver.placement import Placed, exchanged
from skaal.solver.servers import Bins, Server
from skaal.solver.trade import trade
from skaal.testing import backend, catalog
from tests.solver._factories import (
    assert_users_plan,
    aws_quota_raised,
    blueprint,
    fixed_unit,
    labels,
    placed_cost,
    res,
    writes_server,
    writes_unit,
)


def _pair(quota: int) -> dict[str, Server]:
    """``pg`` and ``db`` sharing a quota of ``quota`` instances."""
    pg = replace(writes_server(("small", 10.0, 100.0), quota=quota), group="rds")
    return {"pg": pg, "db": replace(pg, name="db")}


def _one_more_db(
    quota: int, saved_on_pg: float
) -> tuple[dict[str, Server], dict[str, list[Unit]], dict[str, Bins]]:
    """pg runs two instances, db one; the db one and pg's first hold units that cannot
    leave, pg's second a unit saving ``saved_on_pg`` there; on the store, a unit of 90
    writes/s saving $40 on db."""
    servers = _pair(quota=quota)
    stay_pg, stay_db = fixed_unit("stay-pg", "pg"), fixed_unit("stay-db", "db")
    kept = writes_unit("kept", 80.0, ("pg", 1.0), ("store", 1.0 + saved_on_pg))
    forty = writes_unit("forty", 90.0, ("db", 1.0), ("store", 41.0))
    shape = servers["pg"].shapes[0]
    placement = {"pg": [stay_pg, kept], "db": [stay_db], "store": [forty]}
    bins: dict[str, Bins] = {
        "pg": [(shape, [stay_pg]), (shape, [kept])],
        "db": [(shape, [stay_db])],
    }
    return servers, placement, bins


def test_an_instance_saving_least_closes_for_a_new_one_saving_more() -> None:
    # The shared quota of 3 is full.  pg's second instance saves $15 ($5 over its fee);
    # a new db instance for the $40 unit gains $30: pg's second closes for it.  $25 less.
    servers, placement, bins = _one_more_db(quota=3, saved_on_pg=15.0)
    stay_pg, kept = placement["pg"]
    stay_db, forty = placement["db"][0], placement["store"][0]
    before = placed_cost(placement, bins)
    assert trade(placement, bins, servers) == 1
    assert placement == {"pg": [stay_pg], "db": [stay_db, forty], "store": [kept]}
    assert labels(bins["pg"]) == [("small", ["stay-pg"])]
    assert labels(bins["db"]) == [("small", ["forty"]), ("small", ["stay-db"])]
    assert before - placed_cost(placement, bins) == 25.0


def test_with_room_in_the_quota_the_new_instance_opens_without_closing_any() -> None:
    # Quota 4, three instances: the $40 unit gets a new db instance ($30 less), and
    # pg keeps both of its own.
    servers, placement, bins = _one_more_db(quota=4, saved_on_pg=15.0)
    before = placed_cost(placement, bins)
    assert trade(placement, bins, servers) == 1
    assert len(bins["pg"]) == 2
    assert placement["store"] == []
    assert before - placed_cost(placement, bins) == 30.0


def test_no_trade_when_the_instance_to_close_saves_as_much() -> None:
    # Quota full; pg's second instance saves $40 over its fee ($50 there), more than
    # the new db instance would gain ($40 - $10 = $30): nothing moves.
    servers, placement, bins = _one_more_db(quota=3, saved_on_pg=50.0)
    before = {backend: list(units) for backend, units in placement.items()}
    assert trade(placement, bins, servers) == 0
    assert placement == before


def test_the_new_instance_takes_the_largest_savings_that_fit_together() -> None:
    # Room in the quota.  On the store, for db: 60 writes/s saving $9, 50 saving $8
    # and 40 saving $7.  The $9 one goes in first, the $8 one no longer fits (110),
    # the $7 one does (100): $16 saved for a $10 fee.
    servers = _pair(quota=4)
    stay_db = fixed_unit("stay-db", "db")
    nine = writes_unit("nine", 60.0, ("db", 1.0), ("store", 10.0))
    eight = writes_unit("eight", 50.0, ("db", 1.0), ("store", 9.0))
    seven = writes_unit("seven", 40.0, ("db", 1.0), ("store", 8.0))
    shape = servers["db"].shapes[0]
    placement = {"db": [stay_db], "store": [nine, eight, seven]}
    bins: dict[str, Bins] = {"db": [(shape, [stay_db])]}
    assert trade(placement, bins, servers) == 1
    assert labels(bins["db"]) == [("small", ["nine", "seven"]), ("small", ["stay-db"])]
    assert placement["store"] == [eight]


def test_an_instance_holding_a_unit_that_cannot_leave_or_a_servers_last_never_closes() -> None:
    # Quota full at 2: pg's only instance, and db's only one.  However much the unit on
    # the store saves, nothing may close for it.
    servers = _pair(quota=2)
    cheap = writes_unit("cheap", 10.0, ("pg", 1.0), ("store", 2.0))
    stay_db = fixed_unit("stay-db", "db")
    rich = writes_unit("rich", 90.0, ("db", 1.0), ("store", 500.0))
    shape = servers["pg"].shapes[0]
    placement = {"pg": [cheap], "db": [stay_db], "store": [rich]}
    bins: dict[str, Bins] = {"pg": [(shape, [cheap])], "db": [(shape, [stay_db])]}
    assert trade(placement, bins, servers) == 0
    assert placement["store"] == [rich]


def _growing(
    *savings: tuple[str, float, float],
) -> tuple[dict[str, Server], dict[str, list[Unit]], dict[str, Bins]]:
    """pg (quota 1, full) runs one small instance holding a unit of 60 writes/s that
    cannot leave; on the store, units (name, writes/s, saving on pg).  Classes: small
    (100 writes/s, $10), mid (160, $16), large (250, $25)."""
    pg = writes_server(
        ("small", 10.0, 100.0), ("mid", 16.0, 160.0), ("large", 25.0, 250.0), quota=1
    )
    stay = fixed_unit("stay", "pg", writes=60.0)
    waiting = [
        writes_unit(name, writes, ("pg", 1.0), ("store", 1.0 + saved))
        for name, writes, saved in savings
    ]
    small = next(shape for shape in pg.shapes if shape.instance_class.name == "small")
    return {"pg": pg}, {"pg": [stay], "store": waiting}, {"pg": [(small, [stay])]}


def test_at_a_full_quota_an_instance_grows_into_a_larger_class_for_units_that_pay_for_it() -> None:
    # No new instance fits the quota, and pg's only instance never closes.  Grown to
    # mid ($6 more) it takes "a" (90 writes/s, $40 saved): $34; grown to large ($15
    # more) it takes "a" and "b" (90 writes/s, $12): $37.  Large it is.
    servers, placement, bins = _growing(("a", 90.0, 40.0), ("b", 90.0, 12.0))
    before = placed_cost(placement, bins)
    assert trade(placement, bins, servers) == 1
    assert labels(bins["pg"]) == [("large", ["a", "b", "stay"])]
    assert placement["store"] == []
    assert sorted(u.name for u in placement["pg"]) == ["a", "b", "stay"]
    assert before - placed_cost(placement, bins) == pytest.approx(37.0)


def test_no_instance_grows_when_the_larger_class_costs_more_than_its_units_save() -> None:
    # "a" saves $5 on pg: less than mid costs more ($6), and large ($15).
    servers, placement, bins = _growing(("a", 90.0, 5.0))
    assert trade(placement, bins, servers) == 0
    assert labels(bins["pg"]) == [("small", ["stay"])]
    assert [u.name for u in placement["store"]] == ["a"]


def test_the_aws_users_draw_of_3000_seed_9_trades_a_single_az_instance_for_a_multi_az_one(
    tmp_path: Path,
) -> None:
    # The 40 RDS instances of the shared quota went 29 to single-AZ and 11 to
    # Multi-AZ, every Multi-AZ one holding units that cannot leave, and a queue of
    # 6,400 writes/s sat on SQS: $5,529,936.70 a month against a bound of
    # $5,500,762.71.  One more Multi-AZ instance for it, paid for by the single-AZ
    # instance saving least, takes $27,651.73 off; the plan stays valid.
    assert_users_plan(
        tmp_path, aws_quota_raised(tmp_path), 3000, seed=9, total=5_502_284.97, bound=5_500_762.71
    )


def test_the_aws_users_draw_of_1500_seed_7_grows_a_multi_az_micro_for_two_maps(
    tmp_path: Path,
) -> None:
    # The 40 RDS instances of the shared quota are all in use, each holding units
    # that cannot leave, and maps sit on DynamoDB saving thousands a month on
    # Multi-AZ: $3,243,258.14 against a bound of $3,238,233.89.  A Multi-AZ
    # db.t4g.micro grown to a db.m7g.xlarge takes two of them: $1,427.27 less
    # with the steps after; $3,242,303.30 without it, the ElastiCache nodes
    # repacked (:func:`.repack.repacked_large`).  The plan stays valid.
    assert_users_plan(
        tmp_path, aws_quota_raised(tmp_path), 1500, seed=7, total=3_240_876.03, bound=3_238_233.89
    )


def test_with_max_backends_a_trade_sending_a_unit_to_a_backend_no_other_uses_is_undone() -> None:
    # The first case, but the unit of pg's closed instance would go to "spare", which
    # holds nothing: a fourth backend, which max_backends = 3 forbids.
    servers = _pair(quota=3)
    stay_pg, stay_db = fixed_unit("stay-pg", "pg"), fixed_unit("stay-db", "db")
    fifteen = writes_unit("fifteen", 80.0, ("pg", 1.0), ("spare", 16.0))
    forty = writes_unit("forty", 90.0, ("db", 1.0), ("store", 41.0))
    kept = writes_unit("kept", 1.0, ("store", 1.0))
    shape = servers["pg"].shapes[0]
    placement = {"pg": [stay_pg, fifteen], "db": [stay_db], "store": [forty, kept]}
    bins: dict[str, Bins] = {
        "pg": [(shape, [stay_pg]), (shape, [fifteen])],
        "db": [(shape, [stay_db])],
    }
    before = Placed(placement, bins, round(placed_cost(placement, bins) * SCALE), frozenset())
    problem = build_problem(blueprint(res("a")), catalog(backends=[backend("store")]))
    assert exchanged(replace(problem, max_backends=3), before, servers) is before
    for limit in (4, None):
        traded = exchanged(replace(problem, max_backends=limit), before, servers)
        assert traded.placement["spare"] == [fifteen]
        assert traded.cost == before.cost - 25 * SCALE
