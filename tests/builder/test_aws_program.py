"""The aws target's Pulumi program, executed under Pulumi's mocks for the jobs and shop plans."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from pydantic import BaseModel

from skaal import App, Collection, Index, Map, Queue, Topic
from skaal.builder.stacks.aws import LAYER_COMMAND
from skaal.builder.targets import TARGETS
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.aws_iam import VPC_DESCRIBE_SID
from skaal.builder.targets.aws_schedule import validate_expression
from skaal.catalog.loader import load_catalog
from skaal.errors import BuildError, DeployError
from skaal.plan.wiring import binding_name, credentials_env, resource_env, wire
from skaal.registry import DEFAULT_REGISTRY, Registry
from skaal.solver import solve

sys.path.insert(0, str(Path(__file__).parent))
from aws_support import AwsRun, app_context, build_example, run_program, write_with_layer

from tests.builder._pulumi import write

SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""How Pulumi marks a secret value in a resource's inputs."""


@pytest.fixture(scope="module")
def jobs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, AwsRun]:
    context, artifacts = build_example("jobs")
    folder = write_with_layer(artifacts, tmp_path_factory.mktemp("jobs"))
    return context, run_program(folder)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, AwsRun]:
    context, artifacts = build_example("shop")
    folder = write_with_layer(artifacts, tmp_path_factory.mktemp("shop"))
    return context, run_program(folder)


def _statements(run: AwsRun, function: str) -> list[dict[str, Any]]:
    policy = run.named(f"{function}-policy").inputs["policy"]
    statements: list[dict[str, Any]] = json.loads(policy)["Statement"]
    return statements


def _actions_on(run: AwsRun, function: str, arn: str) -> set[str]:
    return {
        action for s in _statements(run, function) if arn in s["Resource"] for action in s["Action"]
    }


def test_the_provider_is_pinned_to_the_plan_region(jobs: tuple[Any, AwsRun]) -> None:
    context, run = jobs
    (provider,) = run.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == context.plan.region == "us-east-1"


def test_maps_become_protected_dynamodb_tables_with_the_runtime_schema(
    jobs: tuple[Any, AwsRun],
) -> None:
    context, run = jobs
    tables = {t.name: t for t in run.of_type("aws:dynamodb/table:Table")}
    assert set(tables) == {"Results", "Stats"}
    results = tables["Results"]
    assert results.inputs["name"] == wire(context.plan).resource("Results").physical_name
    assert results.inputs["name"] == "jobs-results"
    assert results.inputs["hashKey"] == "pk"
    assert results.inputs["rangeKey"] == "sk"
    binding = context.plan.binding("Results")
    if binding.mode == "provisioned":  # the capacity the plan records
        assert binding.provisioned is not None
        assert results.inputs["billingMode"] == "PROVISIONED"
        assert results.inputs["readCapacity"] == binding.provisioned.reads_per_s
        assert results.inputs["writeCapacity"] == binding.provisioned.writes_per_s
        assert {"readCapacity", "writeCapacity"} <= set(results.ignore_changes)
    else:
        assert results.inputs["billingMode"] == "PAY_PER_REQUEST"
        assert "readCapacity" not in results.inputs
        assert results.ignore_changes == ()  # nothing else sets an on-demand table's inputs
    assert results.inputs["ttl"] == {"attributeName": "exp", "enabled": True}
    # point-in-time recovery as the plan records it (priced there: backup_per_gb_month)
    assert binding.backup is not None
    assert results.inputs["pointInTimeRecovery"] == {
        "enabled": True,
        "recoveryPeriodInDays": binding.backup.retention_days,
    }
    assert results.inputs["deletionProtectionEnabled"] is True
    assert results.protect
    assert results.retain


def test_the_queue_has_a_dead_letter_queue_after_the_declared_attempts(
    jobs: tuple[Any, AwsRun],
) -> None:
    context, run = jobs
    work = run.named("Work")
    dlq = run.named("Work-dlq")
    assert work.inputs["name"] == "jobs-work"
    assert dlq.inputs["name"] == binding_name("jobs", context.plan.binding("Work"), suffix="dlq")
    redrive = json.loads(work.inputs["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": dlq.outputs["arn"], "maxReceiveCount": 3}
    assert work.inputs["sqsManagedSseEnabled"] is True
    assert work.protect
    assert dlq.protect


def test_one_lambda_per_function_plus_the_http_default(jobs: tuple[Any, AwsRun]) -> None:
    _, run = jobs
    functions = {f.name: f for f in run.of_type("aws:lambda/function:Function")}
    assert set(functions) == {
        "jobs-submit",
        "jobs-result",
        "jobs-run-job",
        "jobs-hourly-report",
        "jobs-http",
    }
    for created in functions.values():
        assert created.inputs["handler"] == "skaal_lambda.handler"
        assert created.inputs["runtime"] == "python3.11"
        assert created.inputs["role"].endswith(f"{created.name}-role")


def test_function_environment_is_the_wiring_plus_the_function_name(
    jobs: tuple[Any, AwsRun],
) -> None:
    context, run = jobs
    expected = wire(context.plan).env()
    for created in run.of_type("aws:lambda/function:Function"):
        variables = dict(created.inputs["environment"]["variables"])
        name = variables.pop("SKAAL_FUNCTION")
        assert variables.pop("SKAAL_PROCESSES") == "5"  # four functions and the HTTP default
        # WEBHOOK_TOKEN is declared by the app, not by one function: every function reads it
        assert variables.pop("SKAAL_READABLE_SECRETS") == "WEBHOOK_TOKEN"
        # what each function's code uses (its trigger included); the HTTP default
        # route serves every function, so it opens everything (no variable)
        used = variables.pop("SKAAL_USED_RESOURCES", None)
        assert (
            used
            == {
                "submit": "Work",
                "result": "Results",
                "run_job": "Results,Work",
                "hourly_report": "Stats",
                "_http": None,
            }[name]
        )
        assert variables == expected
    assert run.named("jobs-run-job").inputs["environment"]["variables"]["SKAAL_FUNCTION"] == (
        "run_job"
    )


def test_http_api_routes_each_http_function_and_the_default(jobs: tuple[Any, AwsRun]) -> None:
    _, run = jobs
    routes = {r.inputs["routeKey"]: r for r in run.of_type("aws:apigatewayv2/route:Route")}
    assert set(routes) == {"ANY /fn/submit", "ANY /fn/result", "$default"}
    integrations = run.of_type("aws:apigatewayv2/integration:Integration")
    assert {i.inputs["payloadFormatVersion"] for i in integrations} == {"2.0"}
    assert {i.inputs["integrationUri"] for i in integrations} == {
        run.named(n).outputs["arn"] for n in ("jobs-submit", "jobs-result", "jobs-http")
    }
    permissions = run.of_type("aws:lambda/permission:Permission")
    assert {p.inputs["principal"] for p in permissions} == {"apigateway.amazonaws.com"}
    (stage,) = run.of_type("aws:apigatewayv2/stage:Stage")
    assert stage.inputs["name"] == "$default"
    assert stage.inputs["autoDeploy"] is True


def test_the_consumer_reads_its_queue_through_an_event_source_mapping(
    jobs: tuple[Any, AwsRun],
) -> None:
    _, run = jobs
    (mapping,) = run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["eventSourceArn"] == run.named("Work").outputs["arn"]
    assert mapping.inputs["functionName"] == run.named("jobs-run-job").outputs["arn"]
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    visibility = run.named("Work").inputs["visibilityTimeoutSeconds"]
    assert visibility >= run.named("jobs-run-job").inputs["timeout"]


def test_the_schedule_is_a_valid_eventbridge_expression_targeting_its_lambda(
    jobs: tuple[Any, AwsRun],
) -> None:
    _, run = jobs
    (schedule,) = run.of_type("aws:scheduler/schedule:Schedule")
    expression = schedule.inputs["scheduleExpression"]
    validate_expression(expression)
    assert expression == "cron(0 * * * ? *)"
    assert schedule.inputs["scheduleExpressionTimezone"] == "UTC"
    target = schedule.inputs["target"]
    assert target["arn"] == run.named("jobs-hourly-report").outputs["arn"]
    assert json.loads(target["input"]) == {"skaal_schedule": "hourly_report"}
    invoke = json.loads(run.named("jobs-hourly-report-scheduler-policy").inputs["policy"])
    assert invoke["Statement"][0]["Resource"] == [run.named("jobs-hourly-report").outputs["arn"]]


def test_no_statement_grants_a_wildcard_resource_without_a_vpc(jobs: tuple[Any, AwsRun]) -> None:
    _, run = jobs
    created = run.arns()
    policies = run.of_type("aws:iam/rolePolicy:RolePolicy")
    assert len(policies) == 6  # five functions and the scheduler
    for policy in policies:
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            assert statement["Resource"], statement
            for resource in statement["Resource"]:
                assert resource != "*"
                assert resource.startswith("arn:aws:"), (policy.name, resource)
                base = resource.removesuffix("/index/*").removesuffix("/*").removesuffix(":*")
                assert base in created, (policy.name, resource)


def test_only_the_consumer_may_receive_from_its_queue(jobs: tuple[Any, AwsRun]) -> None:
    _, run = jobs
    work = run.named("Work").outputs["arn"]
    consumer = _actions_on(run, "jobs-run-job", work)
    producer = _actions_on(run, "jobs-submit", work)
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"} <= consumer
    assert "sqs:SendMessage" in producer
    assert "sqs:ReceiveMessage" not in producer
    assert "sqs:DeleteMessage" not in producer
    table = run.named("Results").outputs["arn"]
    assert "dynamodb:GetItem" in _actions_on(run, "jobs-result", table)
    assert "dynamodb:DeleteTable" not in _actions_on(run, "jobs-result", table)
    # submit only sends work: its role has nothing on the results table
    assert _actions_on(run, "jobs-submit", table) == set()
    secret = run.named("WEBHOOK_TOKEN").outputs["arn"]
    assert _actions_on(run, "jobs-run-job", secret) == {
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetSecretValue",
    }


def test_a_secret_is_a_reference_without_a_value(jobs: tuple[Any, AwsRun]) -> None:
    _, run = jobs
    secret = run.named("WEBHOOK_TOKEN")
    assert secret.inputs["name"] == "jobs-webhook-token"
    assert "secretString" not in secret.inputs
    assert not run.of_type("aws:secretsmanager/secretVersion:SecretVersion")
    assert secret.protect


def test_shop_gets_a_private_network_for_its_database(shop: tuple[Any, AwsRun]) -> None:
    _, run = shop
    (vpc,) = run.of_type("aws:ec2/vpc:Vpc")
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    assert {s.inputs["availabilityZone"] for s in subnets} == {"us-east-1a", "us-east-1b"}
    data = run.named("data")
    (rule,) = data.inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"]) == (5432, 5432)
    assert rule["securityGroups"] == ["functions-id"]
    assert "cidrBlocks" not in rule
    endpoints = {e.inputs["serviceName"] for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert endpoints == {"com.amazonaws.us-east-1.s3"}  # free; the rest goes through the NAT
    (nat,) = run.of_type("aws:ec2/natGateway:NatGateway")
    assert nat.inputs["subnetId"] == "public-id"
    egress = run.named("private-egress").inputs
    assert egress == {
        "routeTableId": "private-id",
        "destinationCidrBlock": "0.0.0.0/0",
        "natGatewayId": "nat-id",
    }
    (public_routes,) = [
        r for r in run.of_type("aws:ec2/routeTable:RouteTable") if r.name == "public"
    ]
    assert public_routes.inputs["routes"] == [
        {"cidrBlock": "0.0.0.0/0", "gatewayId": "internet-id"}
    ]
    for created in run.of_type("aws:lambda/function:Function"):
        assert created.inputs["vpcConfig"] == {
            "securityGroupIds": ["functions-id"],
            "subnetIds": ["private-0-id", "private-1-id"],
        }
    assert vpc.inputs["enableDnsHostnames"] is True


def test_shop_database_is_protected_encrypted_and_private(shop: tuple[Any, AwsRun]) -> None:
    context, run = shop
    (db,) = run.of_type("aws:rds/instance:Instance")
    assert db.protect
    assert db.retain
    assert db.inputs["deletionProtection"] is True
    assert db.inputs["storageEncrypted"] is True
    assert db.inputs["publiclyAccessible"] is False
    assert db.inputs["skipFinalSnapshot"] is False
    assert db.inputs["engine"] == "postgres"
    # RDS keeps the password in Secrets Manager: it is in no input and no variable
    assert db.inputs["manageMasterUserPassword"] is True
    assert "password" not in db.inputs
    (secret,) = db.outputs["masterUserSecrets"]
    variable = wire(context.plan).connection_envs()
    assert len(variable) == 1
    (server,) = wire(context.plan).servers
    reaching = 0
    for created in run.of_type("aws:lambda/function:Function"):
        environment = created.inputs["environment"]
        assert SECRET_SIG not in environment
        used = environment["variables"].get("SKAAL_USED_RESOURCES")
        if used is not None and not set(used.split(",")) & set(server.holds):
            # a function opening nothing on the server is not given its connection
            assert variable[0] not in environment["variables"]
            continue
        reaching += 1
        url = environment["variables"][variable[0]]
        assert url == f"postgresql://skaal@{db.outputs['address']}:5432/skaal"
        assert environment["variables"][credentials_env(variable[0])] == secret["secretArn"]
        # and its role may read that secret
        assert "secretsmanager:GetSecretValue" in _actions_on(
            run, created.name, secret["secretArn"]
        )
    assert reaching >= 2  # the default route and the functions using the catalog


def test_shop_bucket_is_encrypted_private_and_retained(shop: tuple[Any, AwsRun]) -> None:
    _, run = shop
    bucket = run.named("catalog.Images")
    # S3 completes the prefix with a unique suffix; the functions get the real name
    assert bucket.inputs["bucketPrefix"] == "shop-catalog-images-"
    assert "bucket" not in bucket.inputs
    given = 0
    for created in run.of_type("aws:lambda/function:Function"):
        variables = created.inputs["environment"]["variables"]
        used = variables.get("SKAAL_USED_RESOURCES")
        if used is not None and "catalog.Images" not in used.split(","):
            assert resource_env("catalog.Images") not in variables  # not opened there
            continue
        given += 1
        assert variables[resource_env("catalog.Images")] == bucket.outputs["bucket"]
    assert given >= 1
    assert bucket.protect
    assert bucket.retain
    assert bucket.inputs["forceDestroy"] is False
    versioning = run.named("catalog.Images-versioning").inputs
    assert versioning["versioningConfiguration"] == {"status": "Enabled"}
    assert versioning["bucket"] == bucket.name + "-id"
    (rule,) = run.named("catalog.Images-expiry").inputs["rules"]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    block = run.named("catalog.Images-private").inputs
    assert all(
        block[k] is True
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    sse = run.named("catalog.Images-sse").inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_shop_schedule_and_vpc_statements(shop: tuple[Any, AwsRun]) -> None:
    _, run = shop
    (schedule,) = run.of_type("aws:scheduler/schedule:Schedule")
    assert schedule.inputs["scheduleExpression"] == "cron(0 3 * * ? *)"
    created = run.arns()
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            if statement["Resource"] == ["*"]:
                # the one AWS-mandated exception: read-only ENI lookups for VPC Lambdas
                assert statement["Sid"] == VPC_DESCRIBE_SID
                assert all(a.startswith("ec2:Describe") for a in statement["Action"])
                continue
            for resource in statement["Resource"]:
                assert resource != "*"
                if statement["Sid"] != "VpcInterfaces":
                    base = resource.removesuffix("/index/*").removesuffix("/*")
                    base = base.removesuffix(":*")
                    assert base in created, (policy.name, resource)
                else:
                    assert resource.startswith("arn:aws:ec2:us-east-1:123456789012:")


def test_generated_files_parse_and_the_program_is_lint_clean(tmp_path: Path) -> None:
    context, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path)
    assert yaml.safe_load((folder / "Pulumi.yaml").read_text())["runtime"] == "python"
    config = yaml.safe_load((folder / "Pulumi.prod.yaml").read_text())
    assert config == {"config": {"aws:region": context.plan.region}}
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["target"] == "aws"
    assert manifest["plan_hash"] == context.plan.content_hash()
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--select",
            "E,F,W,B",
            "--isolated",
            "--line-length",
            "100",
            str(folder / "__main__.py"),
            str(folder / "app" / "skaal_lambda.py"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout
    requirements = (folder / "app" / "requirements.txt").read_text()
    assert "skaal==0.0.0" in requirements
    assert "boto3==1.0" in requirements


def test_the_program_refuses_to_run_without_the_dependency_layer(tmp_path: Path) -> None:
    _, artifacts = build_example("jobs")
    folder = write(artifacts, tmp_path)
    with pytest.raises(DeployError, match="layer/python is missing") as refused:
        run_program(folder)
    assert refused.value.fix is not None
    assert LAYER_COMMAND in refused.value.fix
    assert refused.value.command == "skaal deploy --target aws"


EXAMPLES = ("counter", "file_upload", "hello", "todo_api")  # jobs and shop: above


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_builds_a_program_creating_each_planned_resource(
    example: str, tmp_path: Path
) -> None:
    context, artifacts = build_example(example)
    folder = write_with_layer(artifacts, tmp_path)
    run = run_program(folder)
    names = {r.name for r in run.resources}
    for binding in context.plan.bindings:
        if binding.implementation in ("dynamodb", "s3", "sqs", "sns", "secrets-manager"):
            assert binding.resource in names, binding
    functions = [s for s in context.blueprint.resources if s.kind == "function"]
    lambdas = run.of_type("aws:lambda/function:Function")
    assert len(lambdas) == len(functions) + 1
    assert (
        {f.inputs["environment"]["variables"]["SKAAL_FUNCTION"] for f in lambdas} - {"_http"}
        == {f.name for f in functions}
        if example != "shop"
        else True
    )


def test_the_aws_target_is_registered() -> None:
    assert TARGETS["aws"] is build_aws


def test_topics_fan_out_to_one_subscription_queue_per_subscriber(tmp_path: Path) -> None:

    app = App("alerts")

    class Alert(BaseModel):
        level: str

    @app.topic()
    class Alerts(Topic[Alert]): ...

    @app.subscriber(Alerts)
    async def page(alert: Alert) -> None: ...

    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("Alerts").implementation == "sns"
    context = app_context(app.blueprint(), plan, "alerts:app")
    folder = write_with_layer(build_aws(context), tmp_path)
    run = run_program(folder)
    topic = run.named("Alerts")
    queue = run.named("alerts-page-sub-queue")
    (subscription,) = run.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["topic"] == topic.outputs["arn"]
    assert subscription.inputs["endpoint"] == queue.outputs["arn"]
    assert subscription.inputs["protocol"] == "sqs"
    assert subscription.inputs["rawMessageDelivery"] is True
    (queue_policy,) = run.of_type("aws:sqs/queuePolicy:QueuePolicy")
    statement = json.loads(queue_policy.inputs["policy"])["Statement"][0]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic.outputs["arn"]}}
    (mapping,) = run.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    assert mapping.inputs["eventSourceArn"] == queue.outputs["arn"]
    assert mapping.inputs["functionName"] == run.named("alerts-page").outputs["arn"]
    assert queue.inputs["name"] == "alerts-alerts-sub-page"  # what the sns backend looks up
    page_actions = _actions_on(run, "alerts-page", queue.outputs["arn"])
    assert "sqs:ReceiveMessage" in page_actions
    http_actions = _actions_on(run, "alerts-http", queue.outputs["arn"])
    assert "sqs:ReceiveMessage" not in http_actions
    assert "sqs:SetQueueAttributes" in http_actions
    assert "sns:Subscribe" in _actions_on(run, "alerts-http", topic.outputs["arn"])
    assert "sns:Publish" in _actions_on(run, "alerts-page", topic.outputs["arn"])


def test_a_cache_gets_elasticache_in_the_private_network(tmp_path: Path) -> None:
    app = App("sessions")

    @app.storage(durability="ephemeral", size="100MB", read_latency="< 2ms")
    class Sessions(Map[str, str]): ...

    @app.function()
    async def touch(key: str) -> None:
        await Sessions.set(key, "seen")

    plan = solve(app.blueprint(), load_catalog("aws"), pins={"Sessions": "elasticache-redis"})
    assert plan.binding("Sessions").implementation == "redis"
    context = app_context(app.blueprint(), plan, "sessions:app")
    folder = write_with_layer(build_aws(context), tmp_path)
    run = run_program(folder)
    (cache,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache.inputs["numCacheClusters"] == 1  # one node: no replicas, no reader
    assert cache.inputs["transitEncryptionEnabled"] is True
    assert cache.inputs["atRestEncryptionEnabled"] is True
    assert not cache.protect  # declared ephemeral
    assert cache.inputs["securityGroupIds"] == ["data-id"]
    (rule,) = run.named("data").inputs["ingress"]
    assert (rule["fromPort"], rule["toPort"]) == (6379, 6379)
    (variable,) = wire(plan).connection_envs()
    for created in run.of_type("aws:lambda/function:Function"):
        url = created.inputs["environment"]["variables"][variable]
        assert url == f"rediss://{cache.outputs['primaryEndpointAddress']}:6379/0"
        assert "SKAAL_REDIS_READ_URL" not in created.inputs["environment"]["variables"]
        assert created.inputs["vpcConfig"]["securityGroupIds"] == ["functions-id"]
    assert not run.of_type("aws:rds/instance:Instance")


def test_read_replicas_are_built_and_their_reader_endpoint_reaches_the_runtime(
    tmp_path: Path,
) -> None:
    # 300,000 eventual reads/s in under a millisecond: a replication group whose
    # replicas the runtime reads through the group's reader endpoint.
    app = App("feeds")

    @app.storage(
        durability="ephemeral",
        size="2GB",
        read_latency="< 1ms",
        reads="300000/s",
        writes="100/s",
        consistency="eventual",
    )
    class Feed(Map[str, str]): ...

    @app.function()
    async def show(key: str) -> None:
        await Feed.get(key)

    plan = solve(app.blueprint(), load_catalog("aws"))
    (instance,) = plan.instances
    assert (instance.backend, instance.instance_class, instance.replicas) == (
        "elasticache-redis-replicas",
        "cache.m7g.xlarge",
        2,
    )
    context = app_context(app.blueprint(), plan, "feeds:app")
    run = run_program(write_with_layer(build_aws(context), tmp_path))
    (cache,) = run.of_type("aws:elasticache/replicationGroup:ReplicationGroup")
    assert cache.inputs["numCacheClusters"] == 3
    assert cache.inputs["automaticFailoverEnabled"] is True
    assert cache.inputs["multiAzEnabled"] is True
    assert cache.inputs["nodeType"] == "cache.m7g.xlarge"
    (server,) = wire(plan).servers
    assert (server.env, server.read_env, server.replicas) == (
        "SKAAL_REDIS_URL",
        "SKAAL_REDIS_READ_URL",
        2,
    )
    for created in run.of_type("aws:lambda/function:Function"):
        variables = created.inputs["environment"]["variables"]
        assert variables["SKAAL_REDIS_URL"] == (
            f"rediss://{cache.outputs['primaryEndpointAddress']}:6379/0"
        )
        assert variables["SKAAL_REDIS_READ_URL"] == (
            f"rediss://{cache.outputs['readerEndpointAddress']}:6379/0"
        )


@pytest.mark.parametrize(
    ("pins", "message"),
    [
        ({"Events": "elasticache-redis"}, "audit subscribes to topic Events, which the plan"),
        ({"Jobs": "rds-postgres"}, "work consumes queue Jobs, which the plan puts on rds-postgres"),
    ],
)
def test_a_trigger_no_lambda_can_read_is_refused_with_its_pin(
    pins: dict[str, str], message: str
) -> None:
    # The planner keeps consumed queues on SQS and subscribed topics on SNS on
    # aws (the registry's triggered_by); a plan made without that rule (another
    # registry, a hand-edited lock) is still refused here, naming the pin to use.

    untriggered = Registry.of(
        msgspec.structs.replace(impl, triggered_by=None)
        for impl in DEFAULT_REGISTRY.implementations.values()
    )

    app = App("triggers")

    @app.topic(durability="ephemeral")
    class Events(Topic[str]): ...

    @app.subscriber(Events)
    async def audit(event: str) -> None: ...

    @app.queue(durability="persistent")
    class Jobs(Queue[str]): ...

    @app.consumer(Jobs)
    async def work(job: str) -> None: ...

    plan = solve(app.blueprint(), load_catalog("aws"), pins=pins, registry=untriggered)
    context = app_context(app.blueprint(), plan, "triggers:app")
    with pytest.raises(BuildError) as caught:
        build_aws(context)
    rendered = caught.value.render()
    assert message in rendered
    (source,) = pins
    assert f"--pin {source}=" in rendered
    # without the pin the plan uses SNS and SQS, and builds
    unpinned = solve(app.blueprint(), load_catalog("aws"))
    assert build_aws(msgspec.structs.replace(context, plan=unpinned)).paths()


def test_collection_tables_have_the_runtime_ttl_attribute(tmp_path: Path) -> None:

    app = App("sessions")

    class Session(BaseModel):
        id: str
        user: str

    @app.storage(ttl="7d", backend="dynamodb")
    class Sessions(Collection[Session]):
        by_user = Index("user")

    plan = solve(app.blueprint(), load_catalog("aws"))
    context = app_context(app.blueprint(), plan, "sessions:app")
    folder = write_with_layer(build_aws(context), tmp_path)
    table = run_program(folder).named("Sessions")
    # the runtime writes a document's expiry in exp; DynamoDB deletes it natively
    assert table.inputs["ttl"] == {"attributeName": "exp", "enabled": True}
    assert table.inputs["hashKey"] == "pk"
    assert "rangeKey" not in table.inputs
    assert [i["name"] for i in table.inputs["globalSecondaryIndexes"]] == ["by_user"]
