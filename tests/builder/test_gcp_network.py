"""The gcp plan prices the network its build creates: a VPC connector exactly when it is built.

One connector per region with Memorystore instances; each service uses its own region's.

Memorystore is reached through a Serverless VPC Access connector (two e2-micro
instances at least), which the plan prices in ``Plan.network``; Cloud SQL is
reached through Cloud Run's own Cloud SQL connection: no connector, no line.
"""

from __future__ import annotations

import types

import pytest

from skaal import App, Map
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog.loader import load_catalog
from skaal.plan.network import HOURS_PER_MONTH, VPC_CONNECTOR_INSTANCE_HOURLY
from skaal.solver import solve
from tests.builder.gcp_mocks import CONFIG, run_stack


def _app(durability: str) -> App:
    app = App("net")
    app.storage(
        read_latency="< 1ms" if durability == "ephemeral" else "< 10ms", durability=durability
    )(types.new_class("Sessions", (Map[str, str],)))
    return app


def test_a_memorystore_plan_pays_for_the_connector_it_builds() -> None:
    app = _app("ephemeral")
    plan = solve(app.blueprint(), load_catalog("gcp"))
    assert plan.binding("Sessions").implementation == "redis"
    (line,) = plan.network
    assert line.component == "vpc_connector_instance_hours"
    assert line.quantity == 2 * HOURS_PER_MONTH
    assert line.monthly == pytest.approx(2 * HOURS_PER_MONTH * VPC_CONNECTOR_INSTANCE_HOURLY)
    binding_costs = sum(b.monthly_cost for b in plan.bindings)
    fees = sum(i.fixed_monthly for i in plan.instances)
    assert plan.total_monthly_cost == pytest.approx(binding_costs + fees + line.monthly)
    run = run_stack(gcp_stack(app.blueprint(), plan), CONFIG)
    (connector,) = run.of_type("gcp:vpcaccess/connector:Connector")
    assert connector.inputs["minInstances"] == 2


def test_a_cloud_sql_plan_builds_and_prices_no_connector() -> None:
    app = _app("persistent")
    plan = solve(app.blueprint(), load_catalog("gcp"), pins={"Sessions": "cloudsql-postgres"})
    assert plan.binding("Sessions").implementation == "postgres"
    assert plan.network == ()
    run = run_stack(gcp_stack(app.blueprint(), plan), CONFIG)
    assert run.of_type("gcp:vpcaccess/connector:Connector") == []


def test_memorystore_in_two_regions_gets_a_connector_per_region() -> None:
    app = App("two-caches")
    sessions = types.new_class("Sessions", (Map[str, int],))
    cache = types.new_class("Cache", (Map[str, int],))
    app.storage(backend="memorystore-redis", durability="ephemeral", residency="eu")(sessions)
    app.storage(backend="memorystore-redis", durability="ephemeral", residency="us")(cache)

    async def near(key: str) -> int | None:
        return await sessions.get(key)  # type: ignore[no-any-return, attr-defined]

    async def far(key: str) -> int | None:
        return await cache.get(key)  # type: ignore[no-any-return, attr-defined]

    app.function(residency="eu")(near)
    app.function(residency="us")(far)
    plan = solve(app.blueprint(), load_catalog("gcp"))
    eu, us = plan.binding("Sessions").region, plan.binding("Cache").region
    assert eu.startswith("europe-")
    assert us.startswith("us-")
    run = run_stack(gcp_stack(app.blueprint(), plan), CONFIG)
    connectors = {
        c.name: (c.inputs["region"], c.inputs["ipCidrRange"])
        for c in run.of_type("gcp:vpcaccess/connector:Connector")
    }
    # the stack's region (a tie of HTTP functions: the catalog's default) keeps the names
    # of a one-region stack; each connector takes a /28 of its own
    assert connectors == {
        "vpc-connector": (us, "10.8.0.0/28"),
        f"vpc-connector-{eu}": (eu, "10.8.1.0/28"),
    }
    ids = {us: "vpc-connector-id", eu: f"vpc-connector-{eu}-id"}
    services = {s.name: s.inputs for s in run.of_type("gcp:cloudrunv2/service:Service")}
    # each function's service reaches the instance of its region through that region's connector
    for name, region in (("fn_near", eu), ("fn_far", us)):
        assert services[name]["location"] == region
        assert services[name]["template"]["vpcAccess"]["connector"] == ids[region]
    assert "vpcAccess" not in services["web"]["template"]
