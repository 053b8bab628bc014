"""The gcp Pulumi program of the shop and jobs examples, executed under Pulumi's mocks."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from skaal import App, Collection, Every, Index, Map, Queue, Topic
from skaal.blueprint.model import ScheduleSpec
from skaal.builder.targets.gcp_stack import gcp_stack, scheduler_cron
from skaal.catalog.loader import load_catalog
from skaal.errors import BuildError
from skaal.plan.pubsub import max_delivery_attempts, queue_names
from skaal.plan.wiring import wire
from skaal.runtime.backends.gcp_common import gcp_name
from skaal.solver import solve
from tests.builder.gcp_mocks import (
    CONFIG,
    PROJECT,
    PROJECT_NUMBER,
    Run,
    build_example,
    run_artifacts,
    run_stack,
)

SERVICE = "gcp:cloudrunv2/service:Service"
BASIC_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}
IAM_TYPES = {
    "gcp:projects/iAMMember:IAMMember",
    "gcp:storage/bucketIAMMember:BucketIAMMember",
    "gcp:pubsub/topicIAMMember:TopicIAMMember",
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember",
    "gcp:secretmanager/secretIamMember:SecretIamMember",
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember",
}
RUNTIME_MEMBER = f"serviceAccount:shop-run@{PROJECT}.iam.gserviceaccount.com"


def _run(example: str, **config: str) -> Run:
    _, artifacts = build_example(example)
    return run_artifacts(artifacts, {**CONFIG, **config})


@pytest.fixture(scope="module")
def jobs() -> Run:
    return _run("jobs")


@pytest.fixture(scope="module")
def shop() -> Run:
    return _run("shop")


def _env(service: dict[str, object]) -> dict[str, object]:
    (container,) = service["template"]["containers"]  # type: ignore[index]
    return {e["name"]: e.get("value", e.get("valueSource")) for e in container["envs"]}


def test_jobs_creates_cloud_run_scheduler_pubsub_firestore_and_secret(jobs: Run) -> None:
    types = sorted(r.type for r in jobs.resources)
    # web (docs) and one per function: submit, result, run_job, hourly_report
    assert types.count(SERVICE) == 5
    assert types.count("gcp:apigateway/gateway:Gateway") == 1
    assert types.count("gcp:cloudscheduler/job:Job") == 1
    # the queue, its delayed messages and its dead letters
    assert types.count("gcp:pubsub/topic:Topic") == 3
    assert types.count("gcp:pubsub/subscription:Subscription") == 3
    assert types.count("gcp:firestore/database:Database") == 1
    assert types.count("gcp:secretmanager/secret:Secret") == 1
    # web's, one per function, the scheduler/push invoker and the gateway
    assert types.count("gcp:serviceaccount/account:Account") == 7


def test_jobs_schedule_is_a_cron_job_calling_its_private_service(jobs: Run) -> None:
    job = jobs.named("hourly_report-schedule").inputs
    worker = jobs.named("fn_hourly_report").inputs
    assert job["schedule"] == "0 * * * *"
    assert job["timeZone"] == "UTC"
    assert job["region"] == "us-central1"
    target = job["httpTarget"]
    assert target["httpMethod"] == "POST"
    assert target["uri"] == (
        "https://jobs-fn-hourly-report-xyz-uc.a.run.app/_skaal/schedule/hourly_report"
    )
    assert target["oidcToken"]["audience"] == "https://jobs-fn-hourly-report-xyz-uc.a.run.app"
    assert (
        target["oidcToken"]["serviceAccountEmail"]
        == f"jobs-invoke@{PROJECT}.iam.gserviceaccount.com"
    )
    assert worker["name"] == "jobs-fn-hourly-report"
    invoker = jobs.named("fn_hourly_report-invoker").inputs
    assert invoker["member"] == f"serviceAccount:jobs-invoke@{PROJECT}.iam.gserviceaccount.com"
    gateway = f"serviceAccount:jobs-gateway@{PROJECT}.iam.gserviceaccount.com"
    assert jobs.named("web-invoker").inputs["member"] == gateway


def test_jobs_queue_pushes_to_its_consumer_with_a_dead_letter_policy(jobs: Run) -> None:
    sub = jobs.named("Work-subscription").inputs
    assert sub["topic"] == "Work-topic-id"
    run_job = "https://jobs-fn-run-job-xyz-uc.a.run.app"
    assert sub["pushConfig"]["pushEndpoint"] == f"{run_job}/_skaal/push/run_job"
    assert sub["pushConfig"]["oidcToken"]["audience"] == run_job
    assert sub["retryPolicy"] == {"minimumBackoff": "10s", "maximumBackoff": "600s"}
    assert sub["deadLetterPolicy"] == {
        "deadLetterTopic": "Work-dead-topic-id",
        "maxDeliveryAttempts": 5,  # Work declares 3; Pub/Sub's floor is 5
    }
    agent = f"serviceAccount:service-{PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
    assert jobs.named("Work-dead-letter-publisher").inputs["member"] == agent
    assert jobs.named("Work-dead-letter-forwarder").inputs["member"] == agent
    assert jobs.named("Work-dead-letters").inputs["topic"] == "Work-dead-topic-id"
    delayed = jobs.named("Work-delayed").inputs
    assert delayed["topic"] == "Work-delayed-topic-id"
    assert delayed["pushConfig"]["pushEndpoint"] == f"{run_job}/_skaal/promote/run_job"


def test_queue_names_are_the_ones_the_runtime_uses(jobs: Run) -> None:
    names = queue_names(gcp_name("jobs", "Work"))
    for logical, name in (
        ("Work-topic", names.queue),
        ("Work-subscription", names.queue),
        ("Work-delayed-topic", names.delayed),
        ("Work-delayed", names.delayed),
        ("Work-dead-topic", names.dead),
        ("Work-dead-letters", names.dead),
    ):
        assert jobs.named(logical).inputs["name"] == name, logical


def test_a_queue_without_consumer_is_pulled_by_the_runtime_with_its_back_off() -> None:
    app = App("pulls")

    @app.queue(max_attempts=8)
    class Chores(Queue[str]):
        pass

    @app.function()
    async def add_chore(text: str) -> str:
        return await Chores.send(text)

    blueprint = app.blueprint()
    plan = solve(blueprint, load_catalog("gcp"))
    assert plan.binding("Chores").implementation == "pubsub"
    run = run_stack(gcp_stack(blueprint, plan), CONFIG)
    sub = run.named("Chores-subscription").inputs
    assert "pushConfig" not in sub
    assert "retryPolicy" not in sub
    assert sub["deadLetterPolicy"]["maxDeliveryAttempts"] == 8
    assert "pushConfig" not in run.named("Chores-delayed").inputs
    runtime = f"serviceAccount:pulls-fn-add-chore@{PROJECT}.iam.gserviceaccount.com"
    for grant in ("Chores-receive", "Chores-promote", "Chores-read-dead-letters"):
        assert run.named(f"{grant}-add_chore").inputs["member"] == runtime
        assert run.named(f"{grant}-add_chore").inputs["role"] == "roles/pubsub.subscriber"
    for grant in ("Chores-publish", "Chores-delay", "Chores-publish-dead-letters"):
        assert run.named(f"{grant}-add_chore").inputs["role"] == "roles/pubsub.publisher"


def test_stateful_resources_are_protected_and_retained(jobs: Run, shop: Run) -> None:
    for run, names in (
        (
            jobs,
            [
                "firestore",
                "Work-topic",
                "Work-dead-topic",
                "Work-delayed-topic",
                "Work-subscription",
                "Work-delayed",
                "WEBHOOK_TOKEN",
            ],
        ),
        (shop, ["catalog.Images", "cloudsql-postgres#1", "cloudsql-postgres#1-database"]),
    ):
        for name in names:
            item = run.named(name)
            assert (item.protect, item.retain) == (True, True), name
    assert not jobs.named("web").protect
    assert jobs.named("firestore").inputs["deleteProtectionState"] == "DELETE_PROTECTION_ENABLED"
    # the runtime's Firestore client uses the default database
    assert jobs.named("firestore").inputs["name"] == "(default)"
    assert shop.named("cloudsql-postgres#1").inputs["deletionProtection"] is True


def test_delete_data_config_lifts_the_protection() -> None:
    run = _run("jobs", **{"skaal:deleteData": "true"})
    db = run.named("firestore")
    assert (db.protect, db.retain) == (False, False)
    assert db.inputs["deletionPolicy"] == "DELETE"


def test_iam_is_least_privilege_and_scoped_to_resources(jobs: Run, shop: Run) -> None:
    for run in (jobs, shop):
        grants = [r for r in run.resources if r.type in IAM_TYPES]
        assert grants
        for grant in grants:
            assert grant.inputs["role"] not in BASIC_ROLES
            if grant.type == "gcp:projects/iAMMember:IAMMember":
                expression = grant.inputs["condition"]["expression"]
                assert expression.startswith(f"resource.name == 'projects/{PROJECT}/")
            else:
                scope = {"bucket", "topic", "subscription", "secretId", "name"} & set(grant.inputs)
                assert scope, grant.name
    sql = shop.named("cloudsql-postgres#1-client-cart.add_item").inputs
    assert sql["role"] == "roles/cloudsql.client"
    assert sql["condition"]["expression"] == (
        f"resource.name == 'projects/{PROJECT}/instances/shop-cloudsql-postgres-1'"
    )
    # no function of the shop uses its image store: no identity gets its objects
    assert shop.named("catalog.Images").type == "gcp:storage/bucket:Bucket"
    assert not [r for r in shop.resources if r.name.startswith("catalog.Images-objects")]


def test_region_comes_from_the_plan(jobs: Run, shop: Run) -> None:
    for run in (jobs, shop):
        for item in run.resources:
            for key in ("region", "location", "locationId"):
                if key in item.inputs:
                    assert item.inputs[key] in ("us-central1", "US-CENTRAL1"), item.name
    _, artifacts = build_example("shop")
    assert "us-east" not in str(artifacts.file("infra/stack.json").content)
    assert "gcp:region: us-central1" in artifacts.file("infra/Pulumi.dev.yaml").content


def test_services_carry_the_wiring_and_secret_references(jobs: Run) -> None:
    context, _ = build_example("jobs")
    services = ("web", "fn_submit", "fn_result", "fn_run_job", "fn_hourly_report")
    for service in services:
        env = _env(jobs.named(service).inputs)
        for name, value in wire(context.plan).env().items():
            assert env[name] == value
        assert env["SKAAL_CLOUD_RUN_ROLE"] == ("web" if service == "web" else "function")
        assert env["GOOGLE_CLOUD_PROJECT"] == PROJECT
        # an app-wide secret (no function declares it): every service reads it
        assert env["WEBHOOK_TOKEN"] == {
            "secretKeyRef": {"secret": "jobs-webhook-token", "version": "latest"}
        }
        assert env["SKAAL_READABLE_SECRETS"] == "WEBHOOK_TOKEN"
        assert env["SKAAL_PROCESSES"] == "500"  # five services of up to 100 instances each
        assert jobs.named(service).inputs["template"]["scaling"] == {"maxInstanceCount": 100}
    # each service runs as its own account
    assert jobs.named("web").inputs["template"]["serviceAccount"] == (
        f"jobs-run@{PROJECT}.iam.gserviceaccount.com"
    )
    assert jobs.named("fn_run_job").inputs["template"]["serviceAccount"] == (
        f"jobs-fn-run-job@{PROJECT}.iam.gserviceaccount.com"
    )
    assert _env(jobs.named("fn_run_job").inputs)["SKAAL_CLOUD_RUN_FUNCTION"] == "run_job"


def test_shop_reaches_cloud_sql_through_the_cloud_run_connection(shop: Run) -> None:
    instance = shop.named("cloudsql-postgres#1").inputs
    assert instance["region"] == "us-central1"
    assert instance["settings"]["backupConfiguration"]["pointInTimeRecoveryEnabled"] is True
    # checkout uses stores on both instances
    web = shop.named("fn_billing_checkout").inputs["template"]
    sql = shop.of_type("gcp:sql/databaseInstance:DatabaseInstance")
    (volume,) = web["volumes"]
    assert volume["name"] == "cloudsql"
    assert sorted(volume["cloudSqlInstance"]["instances"]) == sorted(
        f"{PROJECT}:us-central1:{r.inputs['name']}" for r in sql
    )
    assert "volumes" not in shop.named("web").inputs["template"]  # the docs reach no server
    env = _env(shop.named("fn_billing_checkout").inputs)
    context, _ = build_example("shop")
    variable = wire(context.plan).resource("cart.Carts").connection_env
    assert variable is not None
    assert env[variable] == {
        "secretKeyRef": {"secret": "shop-cloudsql-postgres-1-url", "version": "latest"}
    }
    assert env["STRIPE_KEY"]["secretKeyRef"]["secret"] == "shop-stripe-key"  # type: ignore[index]
    assert "STRIPE_KEY" not in _env(shop.named("fn_cart_add_item").inputs)


def test_shop_bucket_and_nightly_schedule(shop: Run) -> None:
    bucket = shop.named("catalog.Images").inputs
    assert bucket["uniformBucketLevelAccess"] is True
    assert bucket["publicAccessPrevention"] == "enforced"
    job = shop.named("billing.nightly_report-schedule").inputs
    assert (job["schedule"], job["timeZone"], job["attemptDeadline"]) == (
        "0 3 * * *",
        "UTC",
        "300s",
    )


def _variety_app() -> App:
    app = App("variety")

    class Note(BaseModel):
        id: str
        owner: str

    @app.storage(durability="persistent")
    class Notes(Collection[Note]):
        by_owner = Index("owner")

    @app.storage(durability="ephemeral", read_latency="< 1ms")
    class Sessions(Map[str, str]): ...

    @app.storage(durability="persistent")
    class AuditLog(Map[str, str]): ...

    @app.topic(durability="durable")
    class Events(Topic[str]): ...

    @app.subscriber(Events)
    async def audit(event: str) -> None:
        await Sessions.set(event, "seen")

    @app.schedule(Every("15m"))
    async def sweep() -> None: ...

    return app


def test_firestore_indexes_memorystore_and_topic_subscribers() -> None:
    blueprint = _variety_app().blueprint()
    plan = solve(blueprint, load_catalog("gcp"))
    assert {b.implementation for b in plan.bindings} >= {"firestore", "redis", "pubsub"}
    run = run_stack(gcp_stack(blueprint, plan), CONFIG)
    (index,) = run.of_type("gcp:firestore/index:Index")
    assert index.inputs["collection"] == gcp_name("variety", "Notes")
    assert index.inputs["fields"] == [
        {"fieldPath": "x.owner", "order": "ASCENDING"},
        {"fieldPath": "k", "order": "ASCENDING"},
    ]
    assert index.inputs["queryScope"] == "COLLECTION"
    ttl = [r.inputs for r in run.of_type("gcp:firestore/field:Field")]
    # the runtime's Firestore backend finds its collections by gcp_name
    # map entries and documents alike carry their expiry in exp
    assert sorted((t["collection"], t["field"]) for t in ttl) == [
        (gcp_name("variety", "AuditLog"), "exp"),
        (gcp_name("variety", "Notes"), "exp"),
    ]
    assert all(t["ttlConfig"] == {} for t in ttl)
    (connector,) = run.of_type("gcp:vpcaccess/connector:Connector")
    assert connector.inputs["region"] == "us-central1"
    redis = run.of_type("gcp:redis/instance:Instance")[0].inputs
    assert redis["authorizedNetwork"] == f"projects/{PROJECT}/global/networks/default"
    # audit uses Sessions: its service alone gets the connector and the address
    worker = run.named("fn_audit").inputs["template"]
    assert worker["vpcAccess"] == {"connector": "vpc-connector-id", "egress": "PRIVATE_RANGES_ONLY"}
    env = _env(run.named("fn_audit").inputs)
    variable = str(wire(plan).resource("Sessions").connection_env)
    assert env[variable] == "redis://10.0.0.3:6379"
    sweep = run.named("fn_sweep").inputs
    assert "vpcAccess" not in sweep["template"]
    assert variable not in _env(sweep)
    push = run.named("audit-subscription").inputs
    assert push["pushConfig"]["pushEndpoint"].endswith("/_skaal/push/audit")
    assert run.named("sweep-schedule").inputs["schedule"] == "*/15 * * * *"
    events = run.named("Events-topic").inputs["name"]
    grants = {r.inputs["role"] for r in run.resources if r.inputs.get("topic") == events}
    assert grants == {"roles/pubsub.publisher", "roles/pubsub.viewer"}


@pytest.mark.parametrize(
    ("schedule", "cron"),
    [
        (ScheduleSpec(cron="0 3 * * 1"), "0 3 * * 1"),
        (ScheduleSpec(every_s=60), "* * * * *"),
        (ScheduleSpec(every_s=900), "*/15 * * * *"),
        (ScheduleSpec(every_s=7200), "0 */2 * * *"),
        (ScheduleSpec(every_s=86400), "0 0 * * *"),
    ],
)
def test_scheduler_cron(schedule: ScheduleSpec, cron: str) -> None:
    assert scheduler_cron(schedule, where="app.py:1") == cron


def test_scheduler_refuses_periods_cron_cannot_express() -> None:
    with pytest.raises(BuildError, match="every 45 s"):
        scheduler_cron(ScheduleSpec(every_s=45), where="app.py:1")


def test_delivery_attempts_clamped_to_pubsub_range() -> None:
    assert [max_delivery_attempts(n) for n in (None, 1, 7, 500)] == [5, 5, 7, 100]
