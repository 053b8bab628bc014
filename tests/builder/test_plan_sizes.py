"""The plan drives the build: every server and table is created the size the plan records.

Plans are written by hand here, with sizes no catalog default would give
(db.r7g.large with 137 GB, a three-node cache, a custom
Cloud SQL tier, a 5 GB standard Memorystore, a provisioned table), and
backups and retention no policy of :mod:`skaal.plan.retention` would choose
(10 and 12 days of database backups, 21 days of table PITR, 9 days of
previous versions, 14 days of logs, 5 days of queued messages), so a builder
that used a size or a period of its own would fail.
"""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from skaal import App, BlobStore, Map, Queue
from skaal.blueprint.model import Blueprint, Kind
from skaal.builder.sizing import table_capacity
from skaal.builder.stacks.aws import AwsStack
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.errors import BuildError
from skaal.plan.model import Backup, Binding, Plan, Provisioned, Retention, SharedInstance
from tests.builder.aws_support import AwsRun, app_context, run_program, write_with_layer
from tests.builder.gcp_mocks import CONFIG
from tests.builder.gcp_mocks import run_stack as run_gcp

#: resource -> kind, per app
KINDS: dict[str, Kind] = {
    "Orders": "map",
    "Sessions": "map",
    "Events": "map",
    "Files": "blob",
    "Jobs": "queue",
}
#: Five days of queued messages and nine of dead letters: no default of any target.
JOBS_RETENTION = Retention(messages_s=5 * 86400, dead_letters_s=9 * 86400)


def _blueprint() -> Blueprint:
    app = App("sized")
    orders, sessions, events = (
        app.storage(durability="persistent")(types.new_class(name, (Map[str, str],)))
        for name in ("Orders", "Sessions", "Events")
    )
    files = app.blob(durability="persistent")(types.new_class("Files", (BlobStore,)))
    jobs = app.queue()(types.new_class("Jobs", (Queue[str],)))

    @app.function()
    async def touch(key: str) -> None:
        # it names every resource, each server's included: it is given every connection
        _ = (orders, sessions, events, files, jobs)

    return app.blueprint()


def _binding(resource: str, backend: str, implementation: str, **extra: Any) -> Binding:
    return Binding(
        resource=resource,
        kind=KINDS[resource],
        backend=backend,
        implementation=implementation,
        region=extra.pop("region"),
        monthly_cost=1.0,
        reason="written by the test",
        **extra,
    )


def aws_plan(blueprint: Blueprint, *, node_type: str | None = "cache.r7g.large") -> Plan:
    region = "us-east-1"
    cache_parameters: dict[str, str | int | float] = {}
    if node_type is not None:
        cache_parameters["node_type"] = node_type
    return Plan(
        app=blueprint.app,
        catalog="hand",
        provider="aws",
        region=region,
        blueprint_hash=blueprint.content_hash(),
        catalog_hash="0" * 64,
        bindings=(
            _binding("Orders", "rds-postgres", "postgres", region=region, instance="rds#1"),
            _binding("Sessions", "elasticache-redis", "redis", region=region, instance="cache#1"),
            _binding(
                "Events",
                "dynamodb",
                "dynamodb",
                region=region,
                mode="provisioned",
                provisioned=Provisioned(reads_per_s=2858, writes_per_s=715, target_utilisation=0.7),
                backup=Backup(retention_days=21),
            ),
            _binding("Files", "s3", "s3", region=region, retention=Retention(versions_days=9)),
            _binding("Jobs", "sqs", "sqs", region=region, retention=JOBS_RETENTION),
        ),
        instances=(
            SharedInstance(
                id="rds#1",
                backend="rds-postgres",
                instance_class="large",
                disk_gb=137,
                connections=1600,
                parameters={"instance_class": "db.r7g.large"},
                fixed_monthly=300.0,
                resources=("Orders",),
                backup=Backup(retention_days=10),
            ),
            SharedInstance(
                id="cache#1",
                backend="elasticache-redis",
                instance_class="large",
                replicas=2,
                connections=65000,
                parameters=cache_parameters,
                fixed_monthly=450.0,
                resources=("Sessions",),
            ),
        ),
        total_monthly_cost=754.0,
        log_retention_days=14,
    )


def gcp_plan(blueprint: Blueprint) -> Plan:
    region = "us-central1"
    return Plan(
        app=blueprint.app,
        catalog="hand",
        provider="gcp",
        region=region,
        blueprint_hash=blueprint.content_hash(),
        catalog_hash="0" * 64,
        bindings=(
            _binding("Orders", "cloudsql-postgres", "postgres", region=region, instance="sql#1"),
            _binding("Sessions", "memorystore-redis", "redis", region=region, instance="memory#1"),
            _binding(
                "Events", "firestore", "firestore", region=region, backup=Backup(retention_days=7)
            ),
            _binding("Files", "gcs", "gcs", region=region, retention=Retention(versions_days=9)),
            _binding("Jobs", "pubsub", "pubsub", region=region, retention=JOBS_RETENTION),
        ),
        instances=(
            SharedInstance(
                id="sql#1",
                backend="cloudsql-postgres",
                instance_class="custom-2",
                disk_gb=64,
                connections=800,
                parameters={"tier": "db-custom-2-7680"},
                fixed_monthly=200.0,
                resources=("Orders",),
                backup=Backup(retention_days=12),
            ),
            SharedInstance(
                id="memory#1",
                backend="memorystore-redis",
                instance_class="standard-5",
                replicas=1,
                connections=65000,
                parameters={"memory_size_gb": 5, "tier": "STANDARD_HA"},
                fixed_monthly=300.0,
                resources=("Sessions",),
            ),
        ),
        total_monthly_cost=500.0,
        log_retention_days=30,
    )


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> AwsRun:
    blueprint = _blueprint()
    context = app_context(blueprint, aws_plan(blueprint), "sized:app")
    return run_program(write_with_layer(build_aws(context), tmp_path_factory.mktemp("aws")))


def test_rds_is_the_plan_class_and_disk(aws: AwsRun) -> None:
    (primary,) = aws.of_type("aws:rds/instance:Instance")
    assert primary.name == "rds-1"
    assert primary.inputs["instanceClass"] == "db.r7g.large"
    assert primary.inputs["allocatedStorage"] == 137


def test_an_rds_volume_grows_with_its_data(aws: AwsRun) -> None:
    # Created at the plan's size; storage autoscaling grows it rather than let the data
    # fill it.  A later plan's larger size is still applied by the next deploy:
    # autoscaling waits six hours between increases, too long for a resource moved in
    (primary,) = aws.of_type("aws:rds/instance:Instance")
    assert primary.inputs["maxAllocatedStorage"] == 65_536  # RDS for PostgreSQL's 64 TiB
    assert "allocatedStorage" not in primary.ignore_changes
    assert primary.protect


@pytest.mark.parametrize("provider", ["aws", "gcp"])
def test_read_replicas_on_a_postgresql_server_are_refused(provider: str) -> None:
    # The runtime reads a PostgreSQL server's primary only: replicas would be billed
    # and never read, so a plan giving some (only a hand-made one can) is not built.
    blueprint = _blueprint()
    plan = aws_plan(blueprint) if provider == "aws" else gcp_plan(blueprint)
    server = "rds#1" if provider == "aws" else "sql#1"
    replicated = tuple(
        i.model_copy(update={"replicas": 2}) if i.id == server else i for i in plan.instances
    )
    given = plan.model_copy(update={"instances": replicated})

    def build() -> object:
        if provider == "aws":
            return build_aws(app_context(blueprint, given, "sized:app"))
        return gcp_stack(blueprint, given)

    with pytest.raises(BuildError, match=rf"{server} 2 read replica\(s\), but the postgres"):
        build()


def test_backups_and_retention_are_the_plans(aws: AwsRun) -> None:
    primary = aws.named("rds-1").inputs
    assert primary["backupRetentionPeriod"] == 10
    assert aws.named("Events").inputs["pointInTimeRecovery"] == {
        "enabled": True,
        "recoveryPeriodInDays": 21,
    }
    (lifecycle,) = aws.of_type("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    (rule,) = lifecycle.inputs["rules"]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 9}
    assert aws.named("Jobs").inputs["messageRetentionSeconds"] == 5 * 86400
    assert aws.named("Jobs-dlq").inputs["messageRetentionSeconds"] == 9 * 86400
    groups = aws.of_type("aws:cloudwatch/logGroup:LogGroup")
    assert len(groups) == 2  # touch and the HTTP default
    assert {g.inputs["retentionInDays"] for g in groups} == {14}


def test_a_plan_without_backups_or_retention_builds_none(tmp_path: Path) -> None:
    blueprint = _blueprint()
    plan = aws_plan(blueprint)
    bare = plan.model_copy(
        update={
            "bindings": tuple(
                b.model_copy(update={"backup": None, "retention": None})
                if b.resource != "Jobs"
                else b
                for b in plan.bindings
            ),
            "instances": tuple(i.model_copy(update={"backup": None}) for i in plan.instances),
        }
    )
    run = run_program(
        write_with_layer(build_aws(app_context(blueprint, bare, "sized:app")), tmp_path)
    )
    assert run.named("rds-1").inputs["backupRetentionPeriod"] == 0
    assert run.named("Events").inputs["pointInTimeRecovery"] == {"enabled": False}
    assert not run.of_type("aws:s3/bucketVersioning:BucketVersioning")


def test_a_plan_without_queue_retention_or_log_retention_is_refused() -> None:
    blueprint = _blueprint()
    plan = aws_plan(blueprint)
    no_logs = plan.model_copy(update={"log_retention_days": None})
    with pytest.raises(BuildError, match="no log retention"):
        build_aws(app_context(blueprint, no_logs, "sized:app"))
    queue = plan.binding("Jobs").model_copy(update={"retention": None})
    no_queue = plan.model_copy(
        update={"bindings": tuple(queue if b.resource == "Jobs" else b for b in plan.bindings)}
    )
    with pytest.raises(BuildError, match="queue Jobs no message retention"):
        build_aws(app_context(blueprint, no_queue, "sized:app"))


def test_elasticache_is_the_plan_node_type_and_node_count(aws: AwsRun) -> None:
    cache = aws.named("cache-1").inputs
    assert cache["nodeType"] == "cache.r7g.large"
    assert cache["numCacheClusters"] == 3  # the primary and the plan's two replicas
    assert cache["automaticFailoverEnabled"] is True
    assert cache["multiAzEnabled"] is True


def test_a_provisioned_table_gets_the_plan_capacity_and_autoscaling(aws: AwsRun) -> None:
    table = aws.named("Events").inputs
    assert table["billingMode"] == "PROVISIONED"
    assert (table["readCapacity"], table["writeCapacity"]) == (2858, 715)
    targets = {t.name: t.inputs for t in aws.of_type("aws:appautoscaling/target:Target")}
    assert targets["Events-read-scaling"]["minCapacity"] == 2858
    assert targets["Events-read-scaling"]["maxCapacity"] == 2 * 2858
    assert targets["Events-write-scaling"]["minCapacity"] == 715
    assert targets["Events-read-scaling"]["resourceId"] == "table/sized-events"
    assert targets["Events-write-scaling"]["scalableDimension"] == (
        "dynamodb:table:WriteCapacityUnits"
    )
    policies = {p.name: p.inputs for p in aws.of_type("aws:appautoscaling/policy:Policy")}
    read = policies["Events-read-target"]["targetTrackingScalingPolicyConfiguration"]
    assert read["targetValue"] == 70.0
    assert read["predefinedMetricSpecification"] == {
        "predefinedMetricType": "DynamoDBReadCapacityUtilization"
    }


def test_an_on_demand_table_has_no_capacity() -> None:
    binding = _binding("Events", "dynamodb", "dynamodb", region="us-east-1")
    assert table_capacity(binding) is None
    unsized = binding.model_copy(update={"mode": "provisioned"})
    with pytest.raises(BuildError, match="without its capacity"):
        table_capacity(unsized)


def test_the_functions_size_their_pools_from_the_plan(aws: AwsRun) -> None:
    (touch,) = [f for f in aws.of_type("aws:lambda/function:Function") if f.name == "sized-touch"]
    variables = touch.inputs["environment"]["variables"]
    assert variables["SKAAL_PROCESSES"] == "2"  # touch and the HTTP default share the servers


def test_a_class_without_the_parameter_its_target_needs_is_refused(tmp_path: Path) -> None:
    blueprint = _blueprint()
    context = app_context(blueprint, aws_plan(blueprint, node_type=None), "sized:app")
    with pytest.raises(BuildError, match="no parameter node_type") as info:
        build_aws(context)
    assert "cache#1" in str(info.value)
    assert "parameters" in (info.value.fix or "")


def test_a_server_the_plan_does_not_size_is_refused() -> None:
    blueprint = _blueprint()
    plan = aws_plan(blueprint)
    unsized = plan.model_copy(update={"instances": plan.instances[1:]})
    with pytest.raises(BuildError, match="records no size for server rds#1"):
        build_aws(app_context(blueprint, unsized, "sized:app"))


def test_no_fixed_size_is_left_in_a_builder() -> None:
    # every size comes from the plan: no instance class, node type, tier or disk literal,
    # in the builders, the stack models or the programs reading them
    root = Path(__file__).resolve().parents[2] / "skaal"
    folders = ("builder/targets", "builder/stacks", "programs")
    text = "\n".join(path.read_text() for f in folders for path in (root / f).rglob("*.py"))
    for literal in ("db.t4g", "cache.t4g", "db-custom-", "db-f1", 'disk_size": 10'):
        assert literal not in text, literal
    assert "MEMORYSTORE_GB" not in text
    assert "DATABASE_CLASS" not in text


@pytest.fixture(scope="module")
def gcp() -> Any:
    blueprint = _blueprint()
    return run_gcp(gcp_stack(blueprint, gcp_plan(blueprint)), CONFIG)


def test_cloud_sql_is_the_plan_tier_and_disk(gcp: Any) -> None:
    (instance,) = gcp.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    assert instance.name == "sql#1"
    settings = instance.inputs["settings"]
    assert settings["tier"] == "db-custom-2-7680"
    assert settings["diskSize"] == 64
    assert settings["availabilityType"] == "ZONAL"


def test_a_cloud_sql_disk_grows_with_its_data_and_no_deploy_shrinks_it(gcp: Any) -> None:
    # Created at the plan's size; Cloud SQL's automatic storage increase grows it, and a
    # later deploy keeps the size it grew to (a disk cannot shrink)
    instance = gcp.named("sql#1")
    settings = instance.inputs["settings"]
    assert (settings["diskAutoresize"], settings["diskAutoresizeLimit"]) == (True, 0)
    assert instance.ignore_changes == ("settings.diskSize",)
    assert instance.protect  # the data-holding options are kept beside it


def test_cloud_sql_backups_firestore_pitr_and_retention_are_the_plans(gcp: Any) -> None:
    backups = gcp.named("sql#1").inputs["settings"]["backupConfiguration"]
    assert backups["enabled"] is True
    assert backups["pointInTimeRecoveryEnabled"] is True
    assert backups["transactionLogRetentionDays"] == 12
    assert backups["backupRetentionSettings"] == {"retainedBackups": 12, "retentionUnit": "COUNT"}
    firestore = gcp.named("firestore").inputs
    assert firestore["pointInTimeRecoveryEnablement"] == "POINT_IN_TIME_RECOVERY_ENABLED"
    (bucket,) = gcp.of_type("gcp:storage/bucket:Bucket")
    assert {
        "action": {"type": "Delete"},
        "condition": {"daysSinceNoncurrentTime": 9},
    } in bucket.inputs["lifecycleRules"]
    assert gcp.named("Jobs-topic").inputs["messageRetentionDuration"] == "432000s"
    assert gcp.named("Jobs-subscription").inputs["messageRetentionDuration"] == "432000s"
    assert gcp.named("Jobs-dead-letters").inputs["messageRetentionDuration"] == "777600s"


def test_memorystore_is_the_plan_tier_memory_and_replicas(gcp: Any) -> None:
    redis = gcp.named("memory#1").inputs
    assert (redis["tier"], redis["memorySizeGb"]) == ("STANDARD_HA", 5)
    assert redis["replicaCount"] == 1
    assert redis["readReplicasMode"] == "READ_REPLICAS_ENABLED"


def test_read_replicas_on_a_basic_tier_memorystore_are_refused() -> None:
    # Basic Tier has no replicas: the plan counted their reads and node fees, so the
    # build stops rather than make an instance without them.
    blueprint = _blueprint()
    plan = gcp_plan(blueprint)
    basic = tuple(
        i.model_copy(update={"parameters": {**i.parameters, "tier": "BASIC"}})
        if i.id == "memory#1"
        else i
        for i in plan.instances
    )
    with pytest.raises(
        BuildError, match=r"memory#1 .* 1 read replica\(s\), but its class's tier is BASIC"
    ) as info:
        gcp_stack(blueprint, plan.model_copy(update={"instances": basic}))
    assert 'tier = "STANDARD_HA"' in (info.value.fix or "")


def test_memorystore_read_replicas_reach_the_runtime_through_the_read_endpoint() -> None:
    # The plan counts the replicas' reads, so a service opening a resource on the
    # instance gets the read endpoint beside the primary's.
    app = App("sized")
    maps = {
        name: app.storage(durability="persistent")(types.new_class(name, (Map[str, str],)))
        for name in ("Orders", "Sessions", "Events")
    }
    app.blob(durability="persistent")(types.new_class("Files", (BlobStore,)))
    app.queue()(types.new_class("Jobs", (Queue[str],)))
    sessions = maps["Sessions"]

    @app.function()
    async def touch(key: str) -> None:
        await sessions.get(key)

    blueprint = app.blueprint()
    run = run_gcp(gcp_stack(blueprint, gcp_plan(blueprint)), CONFIG)
    (service,) = (s for s in run.of_type("gcp:cloudrunv2/service:Service") if s.name == "fn_touch")
    envs = {e["name"]: e.get("value") for e in service.inputs["template"]["containers"][0]["envs"]}
    assert envs["SKAAL_REDIS_URL"] == "redis://10.0.0.3:6379"
    assert envs["SKAAL_REDIS_READ_URL"] == "redis://10.0.0.4:6379"


def test_the_stack_json_records_what_the_program_creates(tmp_path: Path) -> None:
    blueprint = _blueprint()
    stack = AwsStack.model_validate_json(
        build_aws(app_context(blueprint, aws_plan(blueprint), "sized:app"))
        .file("stack.json")
        .content
    )
    (database,) = stack.databases
    assert (database.instance_class, database.storage_gb, database.replicas) == (
        "db.r7g.large",
        137,
        0,
    )
    (cache,) = stack.caches
    assert (cache.node_type, cache.replicas) == ("cache.r7g.large", 2)
