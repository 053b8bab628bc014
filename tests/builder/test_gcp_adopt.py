"""An adopted Cloud Storage bucket on gcp: read into the stack, granted, never created."""

from __future__ import annotations

import pytest

from skaal import App, BlobStore, Topic
from skaal.builder.model import BuildContext
from skaal.builder.stacks.gcp import GcpStack
from skaal.builder.targets.gcp import build_gcp
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.builder import gcp_mocks


class Uploads(BlobStore): ...


def _app() -> App:
    app = App("shop")
    app.blob(existing="gs://acme-uploads")(Uploads)

    @app.function()
    async def upload(name: str) -> None:
        await Uploads.delete(name)

    return app


def test_the_adopted_bucket_is_read_and_its_users_are_granted() -> None:
    app = _app()
    plan = solve(app.blueprint(), load_catalog("gcp"))
    context = BuildContext(
        blueprint=app.blueprint(),
        plan=plan,
        app_ref="shop:app",
        target="gcp",
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
    )
    artifacts = build_gcp(context)
    stack = GcpStack.model_validate_json(str(artifacts.file("infra/stack.json").content))
    assert [(b.resource, b.adopted) for b in stack.buckets] == [("Uploads", "acme-uploads")]
    run = gcp_mocks.run_artifacts(artifacts, gcp_mocks.CONFIG)
    bucket = run.named("Uploads")
    assert bucket.read_id == "acme-uploads"
    members = run.of_type("gcp:storage/bucketIAMMember:BucketIAMMember")
    assert members
    assert all(m.inputs["bucket"] == "acme-uploads" for m in members)
    env = next(
        e["value"]
        for s in run.of_type("gcp:cloudrunv2/service:Service")
        for c in s.inputs["template"]["containers"]
        for e in c.get("envs", [])
        if e["name"] == "SKAAL_UPLOADS_NAME"
    )
    assert env == "acme-uploads"


class Orders(Topic[str]): ...


def test_an_adopted_pubsub_topic_is_read_from_the_deploying_project() -> None:
    app = App("shop")
    app.topic(existing=f"projects/{gcp_mocks.CONFIG['gcp:project']}/topics/legacy-orders")(Orders)

    @app.function()
    async def announce(text: str) -> None:
        await Orders.publish(text)

    plan = solve(app.blueprint(), load_catalog("gcp"))
    assert (plan.binding("Orders").implementation, plan.binding("Orders").adopted) == (
        "pubsub",
        "legacy-orders",
    )
    context = BuildContext(
        blueprint=app.blueprint(),
        plan=plan,
        app_ref="shop:app",
        target="gcp",
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
    )
    artifacts = build_gcp(context)
    run = gcp_mocks.run_artifacts(artifacts, gcp_mocks.CONFIG)
    topic = run.named("Orders-topic")
    assert topic.read_id == f"projects/{gcp_mocks.CONFIG['gcp:project']}/topics/legacy-orders"
    assert not [t for t in run.of_type("gcp:pubsub/topic:Topic") if t.read_id is None]
    assert run.of_type("gcp:pubsub/topicIAMMember:TopicIAMMember")  # the publisher is granted
    with pytest.raises(Exception, match="adopts a Pub/Sub topic of project"):
        gcp_mocks.run_artifacts(artifacts, {**gcp_mocks.CONFIG, "gcp:project": "elsewhere-123"})
