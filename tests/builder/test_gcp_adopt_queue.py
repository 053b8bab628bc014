"""A gcp queue adopting an existing Pub/Sub subscription, built and run under Pulumi's mocks.

The subscription is read, never created; its topic and dead-letter topic
come from it; the functions using the queue are granted on those three and
on the delayed companion, the only Pub/Sub resources created for it.  A push
subscription, one without a dead-letter policy, one of another project and a
consumer of the adopted queue are refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from skaal import App, Queue
from skaal.builder.model import ArtifactSet, BuildContext
from skaal.builder.targets.gcp import build_gcp
from skaal.catalog.loader import load_catalog
from skaal.errors import BuildError
from skaal.solver import solve
from tests.builder import gcp_mocks

PROJECT = gcp_mocks.CONFIG["gcp:project"]
PATH = f"projects/{PROJECT}/subscriptions/order-jobs"
TOPIC = f"projects/{PROJECT}/topics/orders"
DEAD = f"projects/{PROJECT}/topics/orders-dead"
POLICY = {"deadLetterTopic": DEAD, "maxDeliveryAttempts": 7}


class Jobs(Queue[str]): ...


@pytest.fixture
def subscription() -> Iterator[dict[str, Any]]:
    state: dict[str, Any] = {"topic": TOPIC, "deadLetterPolicy": POLICY}
    gcp_mocks.READ_SUBSCRIPTIONS[PATH] = state
    yield state
    gcp_mocks.READ_SUBSCRIPTIONS.pop(PATH, None)


def _build(existing: str = PATH, *, consumer: bool = False) -> ArtifactSet:
    app = App("shop")
    app.queue(existing=existing)(Jobs)

    @app.function()
    async def enqueue(job: str) -> None:
        await Jobs.send(job)

    @app.function()
    async def report() -> int:
        return 0

    if consumer:

        @app.consumer(Jobs)
        async def work(job: str) -> None: ...

    plan = solve(app.blueprint(), load_catalog("gcp"))
    assert plan.binding("Jobs").adopted == "order-jobs"
    return build_gcp(
        BuildContext(
            blueprint=app.blueprint(),
            plan=plan,
            app_ref="shop:app",
            target="gcp",
            skaal_version="0.0.0",
            versions=lambda name: "1.0",
        )
    )


def test_the_subscription_is_read_and_only_its_delayed_companion_created(
    subscription: dict[str, Any],
) -> None:
    run = gcp_mocks.run_artifacts(_build(), gcp_mocks.CONFIG)
    subs = run.of_type("gcp:pubsub/subscription:Subscription")
    assert [(s.name, s.read_id) for s in subs if s.read_id] == [("Jobs-subscription", PATH)]
    created = [s.inputs["name"] for s in subs if s.read_id is None]
    assert created == ["order-jobs-delayed"]
    topics = [t.inputs["name"] for t in run.of_type("gcp:pubsub/topic:Topic")]
    assert topics == ["order-jobs-delayed"]  # neither the queue's topic nor its dead letters
    on_subscription = run.of_type("gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember")
    adopted = {
        (m.inputs["role"], m.inputs["member"])
        for m in on_subscription
        if m.inputs["subscription"] == PATH
    }
    # only the function that uses the queue, never the one that does not
    assert {role for role, _ in adopted} == {"roles/pubsub.viewer", "roles/pubsub.subscriber"}
    assert all("enqueue" in member for _, member in adopted), adopted
    on_topics = run.of_type("gcp:pubsub/topicIAMMember:TopicIAMMember")
    granted = {m.inputs["topic"] for m in on_topics if m.inputs["role"] == "roles/pubsub.publisher"}
    assert {TOPIC, DEAD} <= granted  # read from the subscription
    assert all("enqueue" in m.inputs["member"] for m in on_topics)


def test_a_subscription_without_a_dead_letter_policy_stops_the_deploy(
    subscription: dict[str, Any],
) -> None:
    del subscription["deadLetterPolicy"]
    with pytest.raises(Exception, match="has no dead-letter policy"):
        gcp_mocks.run_artifacts(_build(), gcp_mocks.CONFIG)


def test_a_push_subscription_stops_the_deploy(subscription: dict[str, Any]) -> None:
    subscription["pushConfig"] = {"pushEndpoint": "https://example.com/push"}
    with pytest.raises(Exception, match=r"pushes to https://example\.com/push"):
        gcp_mocks.run_artifacts(_build(), gcp_mocks.CONFIG)


def test_a_subscription_of_another_project_stops_the_deploy(
    subscription: dict[str, Any],
) -> None:
    artifacts = _build()
    with pytest.raises(Exception, match="adopts a Pub/Sub subscription of project"):
        gcp_mocks.run_artifacts(artifacts, {**gcp_mocks.CONFIG, "gcp:project": "elsewhere-123"})


def test_a_consumer_of_an_adopted_queue_is_refused_at_build() -> None:
    with pytest.raises(BuildError) as raised:
        _build(consumer=True)
    assert "a consumer on Cloud Run is pushed to" in raised.value.what
    assert "@app.consumer(Jobs) on work" in (raised.value.where or "")
    assert "remove existing=" in (raised.value.fix or "")
