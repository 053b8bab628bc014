"""The bundled catalogs: schema 2, every figure sourced, the classes and modes the planner needs."""

from __future__ import annotations

import re

import pytest

from skaal.catalog import Backend, PriceItem, bundled_catalogs, load_catalog, resolve_catalog

BUNDLED = sorted(bundled_catalogs())
CLOUDS = ("aws", "gcp")


def _items(b: Backend) -> list[tuple[str, PriceItem]]:
    """Every price figure of a backend, named for the assertion messages."""
    found = [(f"{b.name} price.{n}", i) for n, i in b.price.items().items()]
    for mode in b.modes:
        found += [(f"{b.name} mode {mode.name} {n}", i) for n, i in mode.price.items().items()]
    if b.server is not None:
        found += [(f"{b.name} class {c.name}", c.price) for c in b.server.classes]
    return found


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_catalog_is_schema_2_and_has_no_warnings(name: str) -> None:
    path = bundled_catalogs()[name]
    assert re.search(r"^schema_version = 2$", path.read_text(encoding="utf-8"), re.MULTILINE)
    assert resolve_catalog(name).warnings == ()


@pytest.mark.parametrize("name", BUNDLED)
def test_every_price_has_a_source_and_a_date(name: str) -> None:
    catalog = load_catalog(name)
    for backend in catalog.backends:
        items = _items(backend)
        assert items, backend.name
        for label, item in items:
            assert item.source, label
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", item.as_of), label
            if catalog.provider in CLOUDS:
                assert item.source.startswith("https://"), label


@pytest.mark.parametrize("name", CLOUDS)
def test_cloud_servers_state_their_documented_quota(name: str) -> None:
    servers = [b for b in load_catalog(name).backends if b.server is not None]
    assert servers
    for b in servers:
        assert b.server is not None
        assert b.server.quota_source.startswith("https://"), b.name
        assert len(b.server.classes) >= 5, b.name
        fees = [c.price.amount for c in b.server.classes]
        assert fees == sorted(fees), f"{b.name}: classes are listed cheapest first"
        assert all(c.parameters for c in b.server.classes), b.name
        # read on or after the catalog's review of 2026-12-03
        assert all("2026-12-03" <= c.price.as_of <= "2026-12-31" for c in b.server.classes), b.name


def test_aws_offers_the_node_and_instance_classes() -> None:
    aws = load_catalog("aws")
    redis = aws.backend("elasticache-redis").server
    assert redis is not None
    assert (redis.quota, redis.min_disk_gb) == (300, 0.0)
    names = {c.name for c in redis.classes}
    for size in ("t4g.micro", "t4g.small", "t4g.medium", "m7g.large", "m7g.xlarge"):
        assert f"cache.{size}" in names
    for size in ("r7g.large", "r7g.xlarge", "r7g.2xlarge"):
        assert f"cache.{size}" in names
    assert all(c.parameters["node_type"] == c.name for c in redis.classes)
    # reads on the node itself (strong); read replicas are a backend of their own,
    # eventual, with the same classes, 1 to 5 replicas each, under one node quota
    assert all(c.max_replicas == 0 for c in redis.classes)
    replicated = aws.backend("elasticache-redis-replicas")
    assert replicated.performance.consistency == ("eventual",)
    assert replicated.kinds == ("map",)
    assert replicated.server is not None
    assert [c.name for c in replicated.server.classes] == [c.name for c in redis.classes]
    assert all((c.min_replicas, c.max_replicas) == (1, 5) for c in replicated.server.classes)
    assert redis.quota_group == replicated.server.quota_group == "elasticache-nodes"
    micro = redis.instance_class("cache.t4g.micro")
    assert (micro.size_gb, micro.price.amount) == (0.4, 11.68)
    single = aws.backend("rds-postgres").server
    multi = aws.backend("rds-postgres-multi-az").server
    assert single is not None
    assert multi is not None
    for server in (single, multi):
        assert (server.quota, server.min_disk_gb) == (40, 20.0)
        assert all(c.max_replicas == 0 for c in server.classes)
    assert [c.name for c in single.classes] == [c.name for c in multi.classes]
    assert {"db.t4g.micro", "db.t4g.large", "db.m7g.2xlarge", "db.r7g.2xlarge"} <= {
        c.name for c in single.classes
    }
    for one, two in zip(single.classes, multi.classes, strict=True):
        assert two.price.amount == pytest.approx(2 * one.price.amount, abs=0.01)
        assert one.parameters == {"instance_class": one.name}
    assert single.instance_class("db.t4g.micro").connections == 87
    assert single.instance_class("db.r7g.2xlarge").connections == 5000


def test_dynamodb_offers_on_demand_and_provisioned_capacity() -> None:
    dynamodb = load_catalog("aws").backend("dynamodb")
    on_demand, provisioned = dynamodb.modes
    assert (on_demand.name, provisioned.name) == ("on-demand", "provisioned")
    assert on_demand.target_utilisation is None
    assert provisioned.target_utilisation == 0.7
    read = provisioned.price.per_read_per_s_month
    write = provisioned.price.per_write_per_s_month
    assert read is not None
    assert write is not None
    assert read.amount == pytest.approx(0.00013 * 730)
    assert write.amount == pytest.approx(0.00065 * 730)
    assert dynamodb.price == on_demand.price
    assert "strongly consistent" in (on_demand.price.per_million_reads or read).note


def test_gcp_offers_cloud_sql_tiers_and_memorystore_capacities() -> None:
    gcp = load_catalog("gcp")
    sql = gcp.backend("cloudsql-postgres").server
    assert sql is not None
    assert sql.min_disk_gb == 10.0
    assert [c.name for c in sql.classes][:2] == ["db-f1-micro", "db-g1-small"]
    custom = sql.instance_class("db-custom-4-15360")
    assert custom.price.amount == pytest.approx((4 * 0.0413 + 15 * 0.007) * 730, abs=0.01)
    assert custom.parameters == {"tier": "db-custom-4-15360"}
    for backend, tier in (
        ("memorystore-redis", "BASIC"),
        ("memorystore-redis-standard", "STANDARD_HA"),
    ):
        server = gcp.backend(backend).server
        assert server is not None
        for c in server.classes:
            assert c.parameters["tier"] == tier
            assert c.parameters["memory_size_gb"] == c.size_gb
            assert c.resources is None  # any number: each under its own key prefix


def test_local_servers_are_free_with_one_class() -> None:
    for backend in ("redis", "postgres"):
        server = load_catalog("local-servers").backend(backend).server
        assert server is not None
        (only,) = server.classes
        assert only.price.amount == 0.0
        assert server.quota == 16
