"""A Topic adopting an existing SNS topic, against moto.

The topic is created beforehand with boto3 (as an account that already has
it would); the app adopts it with ``existing=`` (its ARN), is planned on the
bundled aws catalog, and its runtime publishes to exactly that topic --
whatever the name prefix -- and never creates one that is missing, even when
tests let the backends create their resources.  Needs
SKAAL_TEST_AWS_ENDPOINT_URL (``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from skaal import App, Topic
from skaal.catalog.loader import load_catalog
from skaal.errors import SkaalRuntimeError
from skaal.runtime import Runtime
from skaal.solver import solve
from tests.runtime.servers.test_aws_moto import aws_env, raw

pytestmark = pytest.mark.asyncio

ACCOUNT = "123456789012"  # moto's account


def _app(existing: str) -> tuple[App, type[Topic[str]]]:
    app = App("legacy")

    @app.topic(existing=existing)
    class Orders(Topic[str]): ...

    return app, Orders


async def test_the_runtime_publishes_to_the_adopted_topic(tmp_path: Path) -> None:
    env = aws_env()  # SKAAL_AWS_CREATE_TABLES=1: it must not matter for adopted resources
    name = f"legacy-orders-{uuid.uuid4().hex[:8]}"
    arn = raw("sns", env).create_topic(Name=name)["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"
    app, orders = _app(arn)
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("Orders").adopted == name
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path) as runtime:
        topic = runtime.client(orders)
        subscription = await topic.subscribe("audit")
        assert await topic.publish("first") == 1
        assert await subscription.get(timeout=5) == "first"
    subscribed = raw("sns", env).list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert len(subscribed) == 1  # the runtime's subscription is on the adopted topic
    topics = [t["TopicArn"] for t in raw("sns", env).list_topics()["Topics"]]
    assert not [t for t in topics if env["SKAAL_AWS_NAME_PREFIX"] in t]  # none created


async def test_a_missing_adopted_topic_is_an_error_not_created(tmp_path: Path) -> None:
    env = aws_env()
    name = f"gone-{uuid.uuid4().hex[:8]}"
    app, _ = _app(f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}")
    plan = solve(app.blueprint(), load_catalog("aws"))
    with pytest.raises(SkaalRuntimeError, match="adopts it \\(existing=\\): Skaal never creates"):
        async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
            pass
    topics = [t["TopicArn"] for t in raw("sns", env).list_topics()["Topics"]]
    assert not [t for t in topics if t.endswith(f":{name}")]
