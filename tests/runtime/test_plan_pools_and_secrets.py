"""The runtime sizes its server pools from the plan and reads only the secrets it may.

* pools: a server's connections (``SharedInstance.connections``) divided
  among the ``SKAAL_PROCESSES`` processes that open it
  (:func:`skaal.plan.wiring.pool_size`), handed to the backend in
  ``SKAAL_POSTGRES_POOL_SIZE`` / ``SKAAL_REDIS_POOL_SIZE``;
* secrets: with ``SKAAL_READABLE_SECRETS`` set (a deployed function), only
  those are read, so a function never asks for a secret its role may not read.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from skaal import App, Map, Secret
from skaal.catalog.loader import load_catalog
from skaal.plan.model import Binding, Plan, SharedInstance
from skaal.plan.wiring import SecretScope, pool_size, servers
from skaal.runtime import Runtime
from skaal.runtime.errors import MissingSecretError, NotBoundError
from skaal.runtime.runtime import _server_env
from skaal.solver import solve
from tests.plan._factories import plan_of


def test_the_pool_is_the_process_share_of_the_connections() -> None:
    assert pool_size(1600, 5, default=10) == 320
    assert pool_size(87, 5, default=10) == 17  # rounded down
    assert pool_size(3, 8, default=10) == 1  # at least one
    assert pool_size(None, 5, default=10) == 10  # the plan records no limit


def _binding(resource: str, backend: str, implementation: str, instance: str) -> Binding:
    return Binding(
        resource=resource,
        kind="map",
        backend=backend,
        implementation=implementation,
        region="us-east-1",
        instance=instance,
        monthly_cost=0.0,
        reason="test",
    )


def _instance(ident: str, backend: str, resource: str, **fields: Any) -> SharedInstance:
    return SharedInstance(
        id=ident, backend=backend, fixed_monthly=1.0, resources=(resource,), **fields
    )


def _plan() -> Plan:
    rds = "rds-postgres"
    return plan_of(
        _binding("A", rds, "postgres", f"{rds}#1"),
        _binding("B", rds, "postgres", f"{rds}#2"),
        instances=(
            _instance(f"{rds}#1", rds, "A", instance_class="large", disk_gb=20, connections=1600),
            _instance(f"{rds}#2", rds, "B", instance_class="large", disk_gb=20, connections=90),
        ),
        total_monthly_cost=2.0,
    )


def test_each_server_gets_its_share_and_its_own_credentials() -> None:
    plan = _plan()
    first, second = servers(plan)
    env = {
        "SKAAL_PROCESSES": "4",
        first.env: "postgresql://skaal@a:5432/skaal",
        first.env + "_SECRET_ARN": "arn:first",
        second.env: "postgresql://skaal@b:5432/skaal",
    }
    primary = _server_env(env, first, plan)
    assert primary["SKAAL_POSTGRES_POOL_SIZE"] == "400"
    other = _server_env(env, second, plan)
    assert other["SKAAL_POSTGRES_DSN"] == "postgresql://skaal@b:5432/skaal"
    assert other["SKAAL_POSTGRES_POOL_SIZE"] == "22"
    # the second server has no credentials secret: never the first one's
    assert "SKAAL_POSTGRES_DSN_SECRET_ARN" not in other
    with_secret = _server_env({**env, second.env + "_SECRET_ARN": "arn:second"}, second, plan)
    assert with_secret["SKAAL_POSTGRES_DSN_SECRET_ARN"] == "arn:second"
    # an explicit pool size wins
    assert (
        _server_env({**env, "SKAAL_POSTGRES_POOL_SIZE": "3"}, first, plan)[
            "SKAAL_POSTGRES_POOL_SIZE"
        ]
        == "3"
    )


def _vault() -> App:
    app = App("vault")
    app.secret("SHARED")
    app.storage(durability="ephemeral")(types.new_class("Notes", (Map[str, str],)))

    @app.function(secrets=[Secret("PAYMENT")])
    async def pay() -> None: ...

    @app.function()
    async def browse() -> None: ...

    return app


def test_the_scope_follows_the_declarations() -> None:
    scope = SecretScope.of(_vault().blueprint())
    assert scope.readable("pay") == ("PAYMENT", "SHARED")
    assert scope.readable("browse") == ("SHARED",)
    assert scope.readable("_http") == ("SHARED",)


@pytest.mark.asyncio
async def test_a_process_reads_only_the_secrets_it_may(tmp_path: Path) -> None:
    app = _vault()
    plan = solve(app.blueprint(), load_catalog("local"))
    # browse's process: PAYMENT is not set and not read
    env = {"SHARED": "s", "SKAAL_READABLE_SECRETS": "SHARED"}
    async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path) as rt:
        assert rt.secret("SHARED") == "s"
        with pytest.raises(NotBoundError, match="not readable by this process"):
            rt.secret("PAYMENT")
    # without the variable (skaal run) every declared secret is read, and required
    with pytest.raises(MissingSecretError, match="PAYMENT"):
        async with Runtime.open(
            app, plan, data_dir=tmp_path, env={"SHARED": "s"}, project_dir=tmp_path
        ):
            pass


def _redis_plan() -> Plan:
    """Two Redis servers: a replication group of 2 read replicas, then one node alone."""
    group, single = "elasticache-redis-replicas", "elasticache-redis"
    node = {"instance_class": "cache.m7g.xlarge", "connections": 65000}
    return plan_of(
        _binding("Hot", group, "redis", f"{group}#1"),
        _binding("Cold", single, "redis", f"{single}#1"),
        instances=(
            _instance(f"{group}#1", group, "Hot", replicas=2, **node),
            _instance(f"{single}#1", single, "Cold", **node),
        ),
        total_monthly_cost=2.0,
    )


def test_a_server_with_replicas_reads_them_through_its_own_variable() -> None:
    plan = _redis_plan()
    single, group = servers(plan)  # ids in order: elasticache-redis#1 first
    assert (single.id, single.replicas, single.read_env) == ("elasticache-redis#1", 0, "")
    assert (group.replicas, group.read_env) == (
        2,
        "SKAAL_REDIS_READ_URL_ELASTICACHE_REDIS_REPLICAS_1",
    )
    assert group.env == "SKAAL_REDIS_URL_ELASTICACHE_REDIS_REPLICAS_1"
    env = {
        single.env: "rediss://single:6379/0",
        group.env: "rediss://group:6379/0",
        group.read_env: "rediss://group-ro:6379/0",
        # a stale plain read variable must reach no server without replicas
        "SKAAL_REDIS_READ_URL": "rediss://stale:6379/0",
        "SKAAL_REDIS_REPLICAS": "5",
    }
    read = _server_env(env, group, plan)
    assert read["SKAAL_REDIS_URL"] == "rediss://group:6379/0"
    assert read["SKAAL_REDIS_READ_URL"] == "rediss://group-ro:6379/0"
    assert read["SKAAL_REDIS_REPLICAS"] == "2"
    alone = _server_env(env, single, plan)
    assert alone["SKAAL_REDIS_URL"] == "rediss://single:6379/0"
    assert "SKAAL_REDIS_READ_URL" not in alone
    assert "SKAAL_REDIS_REPLICAS" not in alone


def test_replicas_without_their_url_refuse_to_start() -> None:
    # reads on the primary alone would get a third of the capacity the plan counts
    plan = _redis_plan()
    _, group = servers(plan)
    env = {group.env: "rediss://group:6379/0"}
    with pytest.raises(NotBoundError) as caught:
        _server_env(env, group, plan)
    assert f"{group.read_env} is not set" in str(caught.value)
    assert "2 read replica(s)" in str(caught.value)
    assert caught.value.fix is not None
    assert "reader endpoint" in caught.value.fix
