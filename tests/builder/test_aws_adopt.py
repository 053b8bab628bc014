"""Adopted resources on aws: read into the stack, never created; the policies name them.

The app adopts an existing DynamoDB table (by ARN) and an existing S3 bucket
(by name); its program runs under Pulumi's mocks.  Each adopted resource is
a read (``Resource.get`` with the existing name as its id), nothing of it is
created (no table, no bucket, no encryption or versioning companions), the
functions' policies are scoped to its ARN and their environment names it.
"""

from __future__ import annotations

import json

import pytest

from skaal import App, BlobStore, Map, Queue, Topic
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.builder.aws_support import ACCOUNT, AwsRun, app_context, run_program, write_with_layer

TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/legacy-carts"


class Carts(Map[str, int]): ...


class Images(BlobStore): ...


class Fresh(Map[str, int]): ...


def _shop() -> App:
    app = App("shop")
    app.storage(existing=TABLE_ARN)(Carts)
    app.blob(existing="legacy-images")(Images)
    app.storage()(Fresh)

    @app.function()
    async def basket(user: str) -> int | None:
        await Images.put(user, b"")
        return await Carts.get(user)

    return app


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> AwsRun:
    app = _shop()
    blueprint = app.blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    assert plan.binding("Carts").adopted == "legacy-carts"
    assert plan.binding("Images").adopted == "legacy-images"
    assert plan.binding("Fresh").adopted is None
    context = app_context(blueprint, plan, "shop:app")
    return run_program(write_with_layer(build_aws(context), tmp_path_factory.mktemp("shop")))


def test_an_adopted_table_is_read_not_created(shop: AwsRun) -> None:
    carts = shop.named("Carts")
    assert carts.type == "aws:dynamodb/table:Table"
    assert carts.read_id == "legacy-carts"
    assert carts.outputs["arn"] == TABLE_ARN
    assert not [r for r in shop.resources if r.name.startswith("Carts-")]  # no autoscaling
    assert shop.named("Fresh").read_id is None  # the other table is created


def test_an_adopted_bucket_is_read_without_companions(shop: AwsRun) -> None:
    images = shop.named("Images")
    assert images.read_id == "legacy-images"
    assert not [r for r in shop.resources if r.name.startswith("Images-")]


def test_policies_are_scoped_to_the_adopted_resources(shop: AwsRun) -> None:
    policy = json.loads(shop.named("shop-basket-policy").inputs["policy"])
    resources = {arn for s in policy["Statement"] for arn in _listed(s["Resource"])}
    assert TABLE_ARN in resources
    assert "arn:aws:s3:::legacy-images/*" in resources
    env = shop.named("shop-basket").inputs["environment"]["variables"]
    assert env["SKAAL_IMAGES_NAME"] == "legacy-images"


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:legacy-orders"


class Orders(Topic[str]): ...


class Alerts(Topic[str]): ...


class Events(Topic[str]): ...


def _news() -> App:
    app = App("news")
    app.topic(existing=TOPIC_ARN)(Orders)
    app.topic(existing="legacy-alerts")(Alerts)
    app.topic()(Events)

    @app.function()
    async def announce(text: str) -> None:
        await Orders.publish(text)
        await Alerts.publish(text)

    @app.subscriber(Orders)
    async def on_order(text: str) -> None: ...

    return app


@pytest.fixture(scope="module")
def news(tmp_path_factory: pytest.TempPathFactory) -> AwsRun:
    app = _news()
    blueprint = app.blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    assert plan.binding("Orders").adopted == "legacy-orders"
    assert plan.binding("Alerts").adopted == "legacy-alerts"
    assert plan.binding("Events").adopted is None
    context = app_context(blueprint, plan, "news:app")
    return run_program(write_with_layer(build_aws(context), tmp_path_factory.mktemp("news")))


def test_an_adopted_topic_is_read_by_its_arn(news: AwsRun) -> None:
    assert news.named("Orders").type == "aws:sns/topic:Topic"
    assert news.named("Orders").read_id == TOPIC_ARN
    # a plain name: the ARN in this account and the stack's region
    assert news.named("Alerts").read_id == f"arn:aws:sns:us-east-1:{ACCOUNT}:legacy-alerts"
    assert news.named("Events").read_id is None  # the other topic is created


def test_functions_publish_and_subscribe_to_the_adopted_topic(news: AwsRun) -> None:
    policy = json.loads(news.named("news-announce-policy").inputs["policy"])
    resources = {arn for s in policy["Statement"] for arn in _listed(s["Resource"])}
    assert TOPIC_ARN in resources
    assert f"arn:aws:sns:us-east-1:{ACCOUNT}:legacy-alerts" in resources
    env = news.named("news-announce").inputs["environment"]["variables"]
    assert env["SKAAL_ORDERS_ARN"] == TOPIC_ARN
    (subscription,) = news.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert subscription.inputs["topic"] == TOPIC_ARN
    (queue_policy,) = news.of_type("aws:sqs/queuePolicy:QueuePolicy")
    statement = json.loads(queue_policy.inputs["policy"])["Statement"][0]
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": TOPIC_ARN}}


QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/legacy-jobs"
DEAD_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:legacy-jobs-dead"  # its redrive policy's


class Jobs(Queue[str]): ...


class Mail(Queue[str]): ...


def _work() -> App:
    app = App("work")
    app.queue(existing=f"arn:aws:sqs:us-east-1:{ACCOUNT}:legacy-jobs")(Jobs)
    app.queue(existing="legacy-mail")(Mail)

    @app.function()
    async def submit(job: str) -> None:
        await Jobs.send(job)
        await Mail.send(job)

    @app.consumer(Jobs)
    async def run_job(job: str) -> None: ...

    return app


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> AwsRun:
    app = _work()
    blueprint = app.blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    assert (plan.binding("Jobs").implementation, plan.binding("Jobs").adopted) == (
        "sqs",
        "legacy-jobs",
    )
    context = app_context(blueprint, plan, "work:app")
    return run_program(write_with_layer(build_aws(context), tmp_path_factory.mktemp("work")))


def test_an_adopted_queue_is_read_by_its_url_without_a_dead_letter_queue(work: AwsRun) -> None:
    assert work.named("Jobs").read_id == QUEUE_URL  # from its ARN
    assert work.named("Mail").read_id == (  # a plain name: this account, the stack's region
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/legacy-mail"
    )
    assert [r.name for r in work.of_type("aws:sqs/queue:Queue") if r.read_id is None] == []


def test_the_consumer_reads_the_adopted_queue_and_its_own_dead_letters(work: AwsRun) -> None:
    (mapping,) = work.of_type("aws:lambda/eventSourceMapping:EventSourceMapping")
    jobs_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:legacy-jobs"
    assert mapping.inputs["eventSourceArn"] == jobs_arn
    consumer = json.loads(work.named("work-run-job-policy").inputs["policy"])["Statement"]
    dead = {a for s in consumer if DEAD_ARN in _listed(s["Resource"]) for a in s["Action"]}
    assert "sqs:SendMessage" in dead  # failed messages go to the queue's own dead letters
    producer = json.loads(work.named("work-submit-policy").inputs["policy"])["Statement"]
    sent = {
        arn for s in producer if "sqs:SendMessage" in s["Action"] for arn in _listed(s["Resource"])
    }
    assert jobs_arn in sent
    assert f"arn:aws:sqs:us-east-1:{ACCOUNT}:legacy-mail" in sent
