"""A Queue adopting an existing SQS queue and its dead-letter queue, against moto.

The queue and the dead-letter queue its redrive policy names are created
beforehand with boto3 (as an account that already has them would); the app
adopts the queue with ``existing=`` (its URL), is planned on the bundled aws
catalog, and its runtime sends to and receives from exactly that queue, and
moves a failed message to exactly that dead-letter queue -- whatever the name
prefix -- and never creates one that is missing, even when tests let the
backends create their resources.  Needs SKAAL_TEST_AWS_ENDPOINT_URL
(``.ci/services/30-moto.sh``).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from skaal import App, Queue
from skaal.catalog.loader import load_catalog
from skaal.errors import SkaalRuntimeError
from skaal.runtime import Runtime
from skaal.solver import solve
from tests.runtime.servers.test_aws_moto import aws_env, raw

pytestmark = pytest.mark.asyncio


def _app(existing: str) -> tuple[App, type[Queue[str]]]:
    app = App("legacy")

    @app.queue(existing=existing, max_attempts=1)
    class Jobs(Queue[str]): ...

    return app, Jobs


def _queues(env: dict[str, str], name: str, *, redrive: bool = True) -> str:
    sqs = raw("sqs", env)
    attributes = {}
    if redrive:
        dead = sqs.create_queue(QueueName=f"{name}-dead")["QueueUrl"]
        dead_arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])
        policy = {"deadLetterTargetArn": dead_arn["Attributes"]["QueueArn"], "maxReceiveCount": 3}
        attributes["RedrivePolicy"] = json.dumps(policy)
    return str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])


def _names(env: dict[str, str]) -> list[str]:
    return [u.rsplit("/", 1)[-1] for u in raw("sqs", env).list_queues().get("QueueUrls", [])]


async def test_the_runtime_uses_the_adopted_queue_and_its_dead_letters(tmp_path: Path) -> None:
    env = aws_env()  # SKAAL_AWS_CREATE_TABLES=1: it must not matter for adopted resources
    name = f"legacy-jobs-{uuid.uuid4().hex[:8]}"
    url = _queues(env, name)
    app, jobs = _app(f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}")
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("Jobs").adopted == name
    async with Runtime.open(app, plan, env=env, project_dir=tmp_path) as runtime:
        queue = runtime.client(jobs)
        await queue.send("first")
        (delivery,) = await queue.receive()
        assert delivery.body == "first"
        assert await queue.fail(delivery, "broken") == "dead"
        (dead,) = await queue.dead_letters()
        assert (dead.body, dead.error) == ("first", "broken")
    dead_url = url + "-dead"
    moved = raw("sqs", env).receive_message(QueueUrl=dead_url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in moved["Messages"]] == [json.dumps("first")]  # its own dead letters
    assert not [n for n in _names(env) if n.startswith(env["SKAAL_AWS_NAME_PREFIX"])]


async def test_a_missing_adopted_queue_is_an_error_not_created(tmp_path: Path) -> None:
    env = aws_env()
    name = f"gone-{uuid.uuid4().hex[:8]}"
    app, _ = _app(f"arn:aws:sqs:us-east-1:123456789012:{name}")
    plan = solve(app.blueprint(), load_catalog("aws"))
    with pytest.raises(SkaalRuntimeError, match="adopts it \\(existing=\\): Skaal never creates"):
        async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
            pass
    assert name not in _names(env)


async def test_an_adopted_queue_without_dead_letters_is_refused(tmp_path: Path) -> None:
    env = aws_env()
    name = f"bare-{uuid.uuid4().hex[:8]}"
    _queues(env, name, redrive=False)
    app, _ = _app(name)
    plan = solve(app.blueprint(), load_catalog("aws"))
    with pytest.raises(SkaalRuntimeError, match="has no redrive policy") as raised:
        async with Runtime.open(app, plan, env=env, project_dir=tmp_path):
            pass
    assert "give the queue a redrive policy" in (raised.value.fix or "")
