"""Instance classes, replicas, quotas, capacity modes and capacity proofs, checked by hand."""

from __future__ import annotations

import math

import msgspec
import pytest

from skaal.blueprint.model import ResourceSpec
from skaal.errors import UnsatisfiableError
from skaal.solver import Diagnosis, solve
from skaal.solver.servers import Shape, _undominated, server_of, trimmed
from skaal.testing import backend, catalog
from skaal.testing.catalogs import instance_class, mode
from tests.solver._factories import blueprint, res

MONTH_S = 730 * 3600


def dynamo() -> object:
    """On-demand and provisioned DynamoDB at the bundled catalog's prices."""
    return backend(
        "dynamodb",
        read_latency_ms=10.0,
        modes=[
            mode("on-demand", per_gb_month=0.25, per_million_reads=0.125, per_million_writes=0.625),
            mode(
                "provisioned",
                target_utilisation=0.7,
                per_gb_month=0.25,
                per_read_per_s_month=0.0949,
                per_write_per_s_month=0.4745,
            ),
        ],
    )


def postgres(quota: int = 40) -> object:
    return backend(
        "postgres",
        read_latency_ms=2.0,
        durability="persistent",
        per_gb_month=0.115,
        min_disk_gb=20.0,
        quota=quota,
        classes=[
            instance_class(
                "db.small",
                price=11.68,
                size_gb=65536.0,
                reads_per_s=2000.0,
                writes_per_s=500.0,
                resources=100,
                parameters={"instance_class": "db.small"},
            ),
            instance_class(
                "db.large",
                price=120.0,
                size_gb=65536.0,
                reads_per_s=25000.0,
                writes_per_s=6000.0,
                connections=1600,
                parameters={"instance_class": "db.large"},
            ),
        ],
    )


def redis(quota: int = 300) -> object:
    return backend(
        "redis",
        read_latency_ms=0.8,
        durability="ephemeral",
        consistency=("eventual",),  # its reads spread over its read replicas
        quota=quota,
        classes=[
            instance_class(
                "cache.small",
                price=11.68,
                size_gb=0.4,
                reads_per_s=10000.0,
                writes_per_s=5000.0,
                resources=16,
                max_replicas=2,
            ),
            instance_class(
                "cache.large", price=150.0, size_gb=10.0, reads_per_s=50000.0, writes_per_s=25000.0
            ),
        ],
    )


def test_busy_table_lands_on_provisioned_capacity_priced_by_hand() -> None:
    # 2,000 reads/s and 500 writes/s at 70 % utilisation: ceil(2000 / 0.7) = 2858
    # read units and ceil(500 / 0.7) = 715 write units, plus 50 GB stored.
    plan = solve(
        blueprint(res("Orders", reads_per_s=2000.0, writes_per_s=500.0, size_gb=50.0)),
        catalog(backends=[dynamo()]),
    )  # type: ignore[list-item]
    binding = plan.binding("Orders")
    assert binding.mode == "provisioned"
    assert binding.provisioned is not None
    assert (binding.provisioned.reads_per_s, binding.provisioned.writes_per_s) == (2858, 715)
    by_hand = 2858 * 0.0949 + 715 * 0.4745 + 50 * 0.25
    assert binding.monthly_cost == pytest.approx(by_hand, abs=1e-6)
    on_demand = 50 * 0.25 + 2000 * MONTH_S / 1e6 * 0.125 + 500 * MONTH_S / 1e6 * 0.625
    assert on_demand > 2 * by_hand  # $1,490.75 on demand against $622.99
    assert {line.component for line in binding.cost} == {
        "per_gb_month",
        "per_read_per_s_month",
        "per_write_per_s_month",
    }


def test_a_quiet_table_stays_on_demand() -> None:
    # 0.05 reads and writes per second: on demand costs cents, one provisioned unit
    # of each costs $0.57.
    carts = res("Carts", size_gb=1.0, reads_per_s=0.05, writes_per_s=0.05)
    plan = solve(blueprint(carts), catalog(backends=[dynamo()]))  # type: ignore[list-item]
    assert plan.binding("Carts").mode == "on-demand"
    assert plan.binding("Carts").provisioned is None


def test_a_busy_map_gets_a_large_class_and_its_disk() -> None:
    # 20,000 reads/s, 5,000 writes/s and 500 GB under 5 ms: only the large class holds it.
    spec = res(
        "Hot",
        read_latency="< 5ms",
        reads_per_s=20000.0,
        writes_per_s=5000.0,
        size_gb=500.0,
        durability="persistent",
    )
    plan = solve(blueprint(spec), catalog(backends=[dynamo(), postgres()]))  # type: ignore[list-item]
    (instance,) = plan.instances
    assert (instance.backend, instance.instance_class) == ("postgres", "db.large")
    assert instance.disk_gb == 520  # the 20 GB floor plus the data
    assert instance.parameters == {"instance_class": "db.large"}
    assert instance.connections == 1600
    assert instance.fixed_monthly == pytest.approx(120.0 + 20 * 0.115)
    assert plan.total_monthly_cost == pytest.approx(120.0 + 20 * 0.115 + 500 * 0.115)
    assert plan.status == "optimal"


def _feed(**consistency: str) -> ResourceSpec:
    """25,000 reads/s of a 0.1 GB cache."""
    return res(
        "Feed",
        read_latency="< 1ms",
        reads_per_s=25000.0,
        writes_per_s=10.0,
        size_gb=0.1,
        durability="ephemeral",
        **consistency,
    )


def test_read_replicas_are_chosen_when_they_are_the_cheapest_reads() -> None:
    # A small node with 2 replicas (30,000 reads/s, 3 x $11.68) beats the large
    # node ($150) for a map declaring eventual reads.
    spec = _feed(consistency="eventual")
    plan = solve(blueprint(spec), catalog(backends=[redis()]))  # type: ignore[list-item]
    (instance,) = plan.instances
    assert (instance.instance_class, instance.replicas) == ("cache.small", 2)
    assert instance.disk_gb is None
    assert plan.total_monthly_cost == pytest.approx(3 * 11.68)
    assert plan.binding("Feed").consistency == "eventual"


def test_a_class_with_a_floor_of_replicas_runs_only_replicated_shapes() -> None:
    # min_replicas = 1: a replication group by definition, 1 or 2 replicas, never 0
    group = backend(
        "group",
        read_latency_ms=0.8,
        durability="ephemeral",
        consistency=("eventual",),
        classes=[
            instance_class(
                "cache.small", price=10.0, reads_per_s=100.0, min_replicas=1, max_replicas=2
            )
        ],
    )
    shapes = server_of(group).shapes  # type: ignore[arg-type]
    assert [(s.replicas, s.fee, s.capacity[1]) for s in shapes] == [
        (1, 20.0, 200_000_000),
        (2, 30.0, 300_000_000),
    ]


def test_a_map_declaring_no_consistency_is_not_read_from_replicas() -> None:
    # The runtime spreads a replica server's reads over its replicas, which may miss
    # the last writes: a map that declares nothing reads its own writes, so the
    # server offering replicas is refused, with the declaration that would allow it.
    with pytest.raises(UnsatisfiableError) as caught:
        solve(blueprint(_feed()), catalog(backends=[redis()]))  # type: ignore[list-item]
    text = str(caught.value)
    assert "consistency offers eventual (reads on read replicas)" in text
    assert "asked strong (undeclared: a map reads its own writes)" in text
    assert 'consistency="eventual"' in text


def test_many_small_maps_share_instances_and_classes_mix_exactly() -> None:
    # 250 maps of 1 GB, 1 read/s, 1 write/s, < 5 ms: db.small holds 100 resources
    # ($13.98 with its disk floor) and db.large unlimited ($122.30); 3 small ones win.
    specs = [
        res(
            f"M{i:03d}",
            read_latency="< 5ms",
            size_gb=1.0,
            reads_per_s=1.0,
            writes_per_s=1.0,
            durability="persistent",
        )
        for i in range(250)
    ]
    plan = solve(blueprint(*specs), catalog(backends=[dynamo(), postgres()]))  # type: ignore[list-item]
    assert [i.instance_class for i in plan.instances] == ["db.small"] * 3
    assert sorted(len(i.resources) for i in plan.instances) == [50, 100, 100]
    assert plan.status == "optimal"
    assert plan.total_monthly_cost == pytest.approx(3 * (11.68 + 2.3) + 250 * 0.115)


def test_the_quota_forces_a_larger_class() -> None:
    specs = [
        res(
            f"M{i:03d}",
            read_latency="< 5ms",
            size_gb=1.0,
            reads_per_s=1.0,
            writes_per_s=1.0,
            durability="persistent",
        )
        for i in range(250)
    ]
    plan = solve(blueprint(*specs), catalog(backends=[dynamo(), postgres(quota=2)]))  # type: ignore[list-item]
    classes = sorted(i.instance_class for i in plan.instances)
    # Two instances at most: one large holds everything ($122.30) — cheaper than
    # large + small, and two small ones hold only 200.
    assert classes == ["db.large"]
    assert plan.status == "optimal"


def test_capacity_infeasibility_is_proven_with_numbers() -> None:
    # 300 maps need < 5 ms; only the small class exists, 2 instances x 100 resources.
    only_small = backend(
        "postgres",
        read_latency_ms=2.0,
        durability="persistent",
        quota=2,
        classes=[instance_class("db.small", price=11.68, resources=100)],
    )
    specs = [res(f"M{i:03d}", read_latency="< 5ms", line=10 + i) for i in range(300)]
    with pytest.raises(UnsatisfiableError) as err:
        solve(blueprint(*specs), catalog(backends=[dynamo(), only_small]))  # type: ignore[list-item]
    report = err.value.report
    assert isinstance(report, Diagnosis)
    (found,) = report.conflicts
    assert found.constraint == "server capacity"
    assert found.detail == (
        "300 resources can only be placed on postgres, and the largest plan the catalog "
        "allows holds 200 resources (2 x 100 on postgres)"
    )
    assert found.relaxation == (
        "add a larger class to postgres, raise [backends.postgres.server] quota (a quota "
        'request), or relax read_latency="<= 10ms" on M000 (to use dynamodb)'
    )


def test_shapes_drop_dominated_ones_and_price_the_disk_floor() -> None:
    server = server_of(postgres())  # type: ignore[arg-type]
    assert [s.label for s in server.shapes] == ["db.small", "db.large"]
    assert server.shapes[0].fee == pytest.approx(11.68 + 20 * 0.115)
    cache = server_of(redis())  # type: ignore[arg-type]
    assert [s.label for s in cache.shapes] == [
        "cache.small",
        "cache.small + 1 replica",
        "cache.small + 2 replicas",
        "cache.large",
    ]
    assert cache.shapes[2].capacity[1] == math.floor(30000.0 * 1e6)
    # A replica is a node of the quota (ElastiCache counts nodes).
    assert [s.units for s in cache.shapes] == [1, 2, 3, 1]


def test_a_shape_using_less_of_the_quota_is_not_dropped_for_a_cheaper_one() -> None:
    # "big" is dearer and holds no more, but uses one unit of the quota where
    # "cheap" uses five: under a binding quota it is the better instance.
    cheap = msgspec.structs.replace(
        instance_class("cheap", price=5.0, size_gb=10.0, resources=10), quota_units=5
    )
    big = instance_class("big", price=8.0, size_gb=10.0, resources=10)
    server = server_of(backend("c", kinds=("map",), quota=5, classes=[cheap, big]))  # type: ignore[arg-type]
    assert [(s.label, s.units) for s in server.shapes] == [("cheap", 5), ("big", 1)]
    plain = msgspec.structs.replace(cheap, quota_units=1)
    server = server_of(backend("c", kinds=("map",), quota=5, classes=[plain, big]))  # type: ignore[arg-type]
    assert [s.label for s in server.shapes] == ["cheap"]


def test_shapes_whose_extra_room_the_units_never_need_are_trimmed() -> None:
    cache = server_of(redis())  # type: ignore[arg-type]
    small, one, two, large = cache.shapes
    # Units needing 1,000 reads/s in all: the replicas' reads are worth nothing
    # to them, so only the cheapest shape of each class is left.
    few = (1_000_000, 1_000 * 1_000_000, 1_000_000, 1_000_000)
    assert trimmed(cache, few).shapes == (small, large)
    # Needing 25,000 reads/s in all, the replicas keep their use.
    busy = (1_000_000, 25_000 * 1_000_000, 1_000_000, 1_000_000)
    assert trimmed(cache, busy).shapes == (small, one, two, large)
    # Nothing to drop: the server itself comes back.
    assert trimmed(cache, busy) is cache


def test_an_unlimited_dimension_covers_any_limit_and_only_another_unlimited_covers_it() -> None:
    item = instance_class("db.x", price=1.0)

    def shape(*capacity: int | None) -> Shape:
        return Shape(backend="b", instance_class=item, replicas=0, fee=1.0, capacity=capacity)

    unlimited = shape(None, 10, 10, 10)
    limited = shape(5, 10, 10, 10)
    assert _undominated([unlimited, limited]) == [unlimited]  # None holds any size
    assert _undominated([limited, unlimited]) == [limited, unlimited]  # 5 does not hold None
    unbounded_count = shape(4, 9, 10, None)
    assert _undominated([limited, unbounded_count]) == [limited, unbounded_count]
    smaller = shape(4, 9, 10, 10)
    assert _undominated([limited, smaller]) == [limited]  # dearer and holding less
    assert _undominated([smaller, limited]) == [smaller, limited]


def test_same_inputs_same_plan_hash() -> None:
    specs = [
        res(
            f"M{i:03d}",
            read_latency="< 5ms",
            size_gb=0.5 + i % 7,
            reads_per_s=float(i % 13),
            writes_per_s=float(i % 5),
            durability="persistent",
        )
        for i in range(120)
    ]
    cat = catalog(backends=[dynamo(), postgres(quota=3), redis()])  # type: ignore[list-item]
    hashes = {solve(blueprint(*specs), cat).content_hash() for _ in range(3)}
    assert len(hashes) == 1


def test_a_would_cost_note_counts_the_class_the_resource_really_needs() -> None:
    # postgres is the cheapest option per resource, but 10,000 reads/s need db.large
    # ($120), not db.small ($11.68): a $50 dedicated table wins, and the reason says so
    dear = backend("table", read_latency_ms=10.0, durability="persistent", fixed_monthly=50.0)
    spec = res("Hot", durability="persistent", reads_per_s=10_000.0)
    plan = solve(blueprint(spec), catalog(backends=[dear, postgres()]))  # type: ignore[list-item]
    hot = plan.binding("Hot")
    assert hot.backend == "table"
    floor = 20.0 * 0.115  # the volume floor is part of every instance's fee
    assert f"postgres would cost ${0.115 + 120.0 + floor:,.2f} with its instance fee" in hot.reason
