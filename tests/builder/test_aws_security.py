"""The aws artifact's security: deletion only when asked, scoped secrets, private names, egress.

* ``skaal:deleteData`` unset: every durable resource is protected, retained,
  deletion-protected and snapshotted; set to ``true`` (what ``skaal destroy
  --delete-data`` does before destroying): none of that is left;
* a secret named by a function's ``secrets=[...]`` is readable by that
  function's role only, and the runtime of every other function is told
  not to read it (``SKAAL_READABLE_SECRETS``);
* bucket names are completed by S3 with a unique suffix, and durable buckets
  are versioned;
* the functions placed in the VPC reach the internet through a NAT gateway,
  which the plan prices (:func:`skaal.plan.network.network_lines`).
"""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from skaal import App, Map, Secret
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.deploy.destroy import DELETE_DATA_CONFIG
from skaal.plan.lock import read_lock, write_lock
from skaal.plan.network import NAT_GATEWAY_HOURLY, PUBLIC_IPV4_HOURLY, network_lines
from skaal.registry import DEFAULT_REGISTRY
from skaal.solver import solve
from tests.builder.aws_support import AwsRun, app_context, run_program, write_with_layer
from tests.builder.test_plan_sizes import _blueprint, aws_plan

#: Durable resources of the sized plan (test_plan_sizes) and the hosted ones
DURABLE = ("Events", "Files", "rds-1")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    blueprint = _blueprint()
    context = app_context(blueprint, aws_plan(blueprint), "sized:app")
    return write_with_layer(build_aws(context), tmp_path_factory.mktemp("sized"))


@pytest.fixture(scope="module")
def kept(folder: Path) -> AwsRun:
    return run_program(folder, {})


@pytest.fixture(scope="module")
def deleted(folder: Path) -> AwsRun:
    return run_program(folder, {DELETE_DATA_CONFIG: "true"})


def test_without_delete_data_the_data_is_protected(kept: AwsRun) -> None:
    for name in DURABLE:
        item = kept.named(name)
        assert (item.protect, item.retain) == (True, True), name
    assert kept.named("Events").inputs["deletionProtectionEnabled"] is True
    assert kept.named("Files").inputs["forceDestroy"] is False
    database = kept.named("rds-1").inputs
    assert database["deletionProtection"] is True
    assert database["skipFinalSnapshot"] is False
    assert database["finalSnapshotIdentifier"] == "sized-rds-1-final"


def test_delete_data_lifts_every_protection(deleted: AwsRun) -> None:
    for item in deleted.resources:
        assert (item.protect, item.retain) == (False, False), item.name
    assert deleted.named("Events").inputs["deletionProtectionEnabled"] is False
    assert deleted.named("Files").inputs["forceDestroy"] is True  # emptied, then deleted
    database = deleted.named("rds-1").inputs
    assert database["deletionProtection"] is False
    assert database["skipFinalSnapshot"] is True
    assert "finalSnapshotIdentifier" not in database


def test_delete_data_deletes_secrets_without_a_recovery_window(till_folder: Path) -> None:
    assert run_program(till_folder, {}).named("STRIPE_KEY").inputs["recoveryWindowInDays"] == 30
    deleted = run_program(till_folder, {DELETE_DATA_CONFIG: "true"}).named("STRIPE_KEY")
    assert deleted.inputs["recoveryWindowInDays"] == 0


def test_buckets_are_named_by_s3_and_versioned(kept: AwsRun) -> None:
    bucket = kept.named("Files")
    assert bucket.inputs["bucketPrefix"] == "sized-files-"
    assert bucket.outputs["bucket"].startswith("sized-files-")
    assert bucket.outputs["bucket"] != "sized-files-"
    (touch,) = [f for f in kept.of_type("aws:lambda/function:Function") if f.name == "sized-touch"]
    assert touch.inputs["environment"]["variables"]["SKAAL_FILES_NAME"] == bucket.outputs["bucket"]
    versioning = kept.named("Files-versioning").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}


def test_the_vpc_functions_get_a_nat_gateway_priced_in_the_plan(
    kept: AwsRun, tmp_path: Path
) -> None:
    (nat,) = kept.of_type("aws:ec2/natGateway:NatGateway")
    (address,) = kept.of_type("aws:ec2/eip:Eip")
    assert nat.inputs["allocationId"] == address.name + "-id"
    plan = aws_plan(_blueprint())
    lines = {line.component: line for line in network_lines(plan.bindings, plan.provider)}
    assert set(lines) == {"nat_gateway_hours", "public_ipv4_hours"}
    assert lines["nat_gateway_hours"].monthly == pytest.approx(NAT_GATEWAY_HOURLY * 730)
    assert lines["public_ipv4_hours"].monthly == pytest.approx(PUBLIC_IPV4_HOURLY * 730)
    # the lines are the plan's own (Plan.network) and survive the lock
    priced = plan.model_copy(update={"network": tuple(lines.values())})
    write_lock(priced, tmp_path / "skaal.lock")
    assert read_lock(tmp_path / "skaal.lock") == priced
    # a plan without RDS or ElastiCache puts no function in a VPC, and pays for no NAT
    managed = [b for b in plan.bindings if b.implementation in ("dynamodb", "s3")]
    assert network_lines(managed, "aws") == ()
    assert network_lines(plan.bindings, "local") == ()


def test_the_servers_listen_on_the_ports_the_data_group_opens_to_the_functions(
    kept: AwsRun,
) -> None:
    # one port per server implementation, from its record (skaal.registry)
    ports = {impl: DEFAULT_REGISTRY.network(impl, "aws").port for impl in ("postgres", "redis")}
    assert ports == {"postgres": 5432, "redis": 6379}
    (data,) = [g for g in kept.of_type("aws:ec2/securityGroup:SecurityGroup") if g.name == "data"]
    opened = sorted((rule["fromPort"], rule["toPort"]) for rule in data.inputs["ingress"])
    assert opened == [(5432, 5432), (6379, 6379)]
    assert kept.named("rds-1").inputs["port"] == ports["postgres"]
    assert kept.named("cache-1").inputs["port"] == ports["redis"]
    (touch,) = [f for f in kept.of_type("aws:lambda/function:Function") if f.name == "sized-touch"]
    variables = touch.inputs["environment"]["variables"]
    assert variables["SKAAL_POSTGRES_DSN"] == (
        "postgresql://skaal@sized-rds-1.abc.us-east-1.rds.amazonaws.com:5432/skaal"
    )
    assert variables["SKAAL_REDIS_URL"] == "rediss://cache-1.cache.amazonaws.com:6379/0"


# -- secrets scoped to the functions that declare them ------------------------------


def _till() -> App:
    app = App("till")
    stripe = Secret("STRIPE_KEY")
    app.secret("SIGNING_KEY")  # app-wide: no function names it
    app.storage(durability="persistent")(types.new_class("Orders", (Map[str, str],)))

    @app.function(secrets=[stripe])
    async def pay(amount: int) -> None: ...

    @app.function()
    async def browse() -> None: ...

    return app


@pytest.fixture(scope="module")
def till_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    app = _till()
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("STRIPE_KEY").implementation == "secrets-manager"
    context = app_context(app.blueprint(), plan, "till:app")
    return write_with_layer(build_aws(context), tmp_path_factory.mktemp("till"))


@pytest.fixture(scope="module")
def till(till_folder: Path) -> AwsRun:
    return run_program(till_folder, {})


def _readable(run: AwsRun, function: str) -> set[str]:
    policy = json.loads(run.named(f"{function}-policy").inputs["policy"])
    return {
        arn
        for statement in policy["Statement"]
        if "secretsmanager:GetSecretValue" in statement["Action"]
        for arn in statement["Resource"]
    }


def test_a_function_secret_is_readable_by_that_function_only(till: AwsRun) -> None:
    stripe = till.named("STRIPE_KEY").outputs["arn"]
    signing = till.named("SIGNING_KEY").outputs["arn"]
    assert {stripe, signing} <= _readable(till, "till-pay")
    assert stripe not in _readable(till, "till-browse")
    assert signing in _readable(till, "till-browse")
    assert stripe not in _readable(till, "till-http")
    variables = {
        f.name: f.inputs["environment"]["variables"]
        for f in till.of_type("aws:lambda/function:Function")
    }
    assert variables["till-pay"]["SKAAL_READABLE_SECRETS"] == "SIGNING_KEY,STRIPE_KEY"
    assert variables["till-browse"]["SKAAL_READABLE_SECRETS"] == "SIGNING_KEY"
    assert variables["till-http"]["SKAAL_READABLE_SECRETS"] == "SIGNING_KEY"
