"""Adopted PostgreSQL servers on aws: read with an invoke, never created; one secret granted.

The app adopts an existing RDS instance and an Aurora cluster and keeps a
created map beside them; its program runs under Pulumi's mocks (which
answer ``rds.getInstance`` and ``rds.getCluster``).  No RDS resource is
created for the adopted servers (so a destroy has nothing of them to
delete), their security groups get an ingress rule from the functions'
VPC on their port, the functions' environment holds each server's URL
(master user, endpoint, database; no password) and the named secret's ARN,
and their policy reads those secrets only.
"""

from __future__ import annotations

import json

import msgspec
import pytest

from skaal import App, Map
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.aws_stack import aws_stack
from skaal.catalog.loader import load_catalog
from skaal.plan.wiring import credentials_env, servers
from skaal.solver import solve
from tests.builder.aws_support import (
    ACCOUNT,
    REGION,
    AwsRun,
    app_context,
    run_program,
    write_with_layer,
)

SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:shop-db-AbCdEf"
ORDERS_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:orders-db-GhIjKl"
INSTANCE = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:legacy-shop secret={SECRET}"
CLUSTER = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:legacy-orders secret={ORDERS_SECRET}"


class Carts(Map[str, int]): ...


class Orders(Map[str, int]): ...


def _shop() -> App:
    app = App("shop")
    app.storage(existing=INSTANCE)(Carts)
    app.storage(existing=CLUSTER)(Orders)

    @app.function()
    async def basket(user: str) -> int | None:
        await Orders.get(user)
        return await Carts.get(user)

    return app


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> AwsRun:
    blueprint = _shop().blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    assert not plan.instances  # adopted servers are not planned instances
    context = app_context(blueprint, plan, "shop:app")
    run = run_program(write_with_layer(build_aws(context), tmp_path_factory.mktemp("shop")))
    run.plan = plan  # type: ignore[attr-defined]
    return run


def test_the_servers_are_read_not_created(shop: AwsRun) -> None:
    assert not shop.of_type("aws:rds/instance:Instance")
    assert not shop.of_type("aws:rds/cluster:Cluster")
    assert not shop.of_type("aws:rds/subnetGroup:SubnetGroup")
    assert "aws:rds/getInstance:getInstance" in shop.calls
    assert "aws:rds/getCluster:getCluster" in shop.calls


def test_their_security_groups_let_the_functions_vpc_in_on_their_port(shop: AwsRun) -> None:
    vpc = shop.of_type("aws:ec2/vpc:Vpc")
    assert len(vpc) == 1
    rules = {
        (r.inputs["securityGroupId"], r.inputs["fromPort"], r.inputs["toPort"])
        for r in shop.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    }
    assert rules == {
        ("sg-legacy-a", 5433, 5433),
        ("sg-legacy-b", 5433, 5433),
        ("sg-aurora", 5432, 5432),
    }
    cidrs = {
        r.inputs["cidrIpv4"]
        for r in shop.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    }
    assert cidrs == {vpc[0].inputs["cidrBlock"]}
    function = shop.named("shop-basket").inputs
    assert function["vpcConfig"]["securityGroupIds"]  # the function runs in that VPC


def test_the_environment_has_each_url_and_its_secret(shop: AwsRun) -> None:
    env = shop.named("shop-basket").inputs["environment"]["variables"]
    wired = {s.resources[0]: s.env for s in servers(shop.plan)}  # type: ignore[attr-defined]
    carts, orders = wired["Carts"], wired["Orders"]
    assert (
        env[carts]
        == f"postgresql://shopadmin@legacy-shop.legacy.{REGION}.rds.amazonaws.com:5433/shop"
    )
    assert env[orders] == (
        f"postgresql://ordersadmin@legacy-orders.cluster-legacy.{REGION}.rds.amazonaws.com"
        ":5432/orders"
    )
    assert env[credentials_env(carts)] == SECRET
    assert env[credentials_env(orders)] == ORDERS_SECRET
    assert "password" not in json.dumps(env).lower()


def test_the_policy_reads_the_named_secrets_only(shop: AwsRun) -> None:
    policy = json.loads(shop.named("shop-basket-policy").inputs["policy"])
    reads = [s for s in policy["Statement"] if "secretsmanager:GetSecretValue" in s["Action"]]
    assert len(reads) == 1
    assert sorted(reads[0]["Resource"]) == sorted([SECRET, ORDERS_SECRET])


def test_a_server_adopted_by_the_configuration_is_read_too() -> None:
    app = App("shop")
    app.storage()(Carts)  # created, unless an environment adopts a server for it

    @app.function()
    async def basket(user: str) -> int | None:
        return await Carts.get(user)

    blueprint = app.blueprint()
    configured = {"Carts": INSTANCE}
    plan = solve(blueprint, load_catalog("aws"), existing=configured)
    assert "configured, not in the code" in plan.binding("Carts").reason
    context = msgspec.structs.replace(app_context(blueprint, plan, "shop:app"), existing=configured)
    (adopted,) = aws_stack(context).adopted_databases
    assert (adopted.identifier, adopted.cluster, adopted.secret_arn) == (
        "legacy-shop",
        False,
        SECRET,
    )
    assert not aws_stack(context).databases
