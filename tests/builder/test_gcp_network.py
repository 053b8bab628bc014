"""The gcp plan prices the network its build creates: a VPC connector exactly when it is built.

Memorystore is reached through a Serverless VPC Access connector (two e2-micro
instances at least), which the plan prices in ``Plan.network``; Cloud SQL is
reached through Cloud Run's own Cloud SQL connection: no connector, no line.
"""

from __future__ import annotations

import types

import pytest

from skaal import App, Map
from skaal.builder.targets.gcp_program import render_program
from skaal.catalog.loader import load_catalog
from skaal.plan.network import HOURS_PER_MONTH, VPC_CONNECTOR_INSTANCE_HOURLY
from skaal.solver import solve
from tests.builder.gcp_mocks import CONFIG, run_program


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
    run = run_program(render_program(app.blueprint(), plan), CONFIG)
    (connector,) = run.of_type("gcp:vpcaccess/connector:Connector")
    assert connector.inputs["minInstances"] == 2


def test_a_cloud_sql_plan_builds_and_prices_no_connector() -> None:
    app = _app("persistent")
    plan = solve(app.blueprint(), load_catalog("gcp"), pins={"Sessions": "cloudsql-postgres"})
    assert plan.binding("Sessions").implementation == "postgres"
    assert plan.network == ()
    run = run_program(render_program(app.blueprint(), plan), CONFIG)
    assert run.of_type("gcp:vpcaccess/connector:Connector") == []
