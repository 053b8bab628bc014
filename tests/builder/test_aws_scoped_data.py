"""Each aws function's role reaches the data of the resources it uses, and no other's.

What a function uses is its ``uses`` in the Blueprint (read from its code);
its ``SKAAL_USED_RESOURCES`` names them, its runtime opens only those, and its
role has no statement at all on the other tables, buckets and queues; the
HTTP default route keeps the grant on every one
(:mod:`skaal.builder.targets.aws_iam`).
"""

from __future__ import annotations

import json

import pytest

from skaal import App, BlobStore, Map, Queue
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.builder.aws_support import AwsRun, app_context, run_program, write_with_layer


class Prices(Map[str, int]): ...


class Stock(Map[str, int]): ...


class Photos(BlobStore): ...


class Orders(Queue[str]): ...


def _shelf() -> App:
    app = App("shelf")
    app.storage(durability="persistent")(Prices)
    app.storage(durability="persistent")(Stock)
    app.blob(durability="persistent")(Photos)
    app.queue(durability="persistent")(Orders)

    @app.function()
    async def price(sku: str) -> int | None:
        return await Prices.get(sku)

    @app.function()
    async def order(sku: str) -> None:
        await Orders.send(sku)

    @app.consumer(Orders)
    async def ship(sku: str) -> None:
        await Stock.set(sku, 0)

    return app


@pytest.fixture(scope="module")
def shelf(tmp_path_factory: pytest.TempPathFactory) -> AwsRun:
    app = _shelf()
    blueprint = app.blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    assert {b.implementation for b in plan.bindings} >= {"dynamodb", "s3", "sqs"}
    context = app_context(blueprint, plan, "shelf:app")
    return run_program(write_with_layer(build_aws(context), tmp_path_factory.mktemp("shelf")))


def _actions_on(run: AwsRun, function: str, resource: str, suffix: str = "") -> set[str]:
    arn = run.named(resource).outputs["arn"] + suffix
    policy = json.loads(run.named(f"{function}-policy").inputs["policy"])
    return {
        action
        for statement in policy["Statement"]
        if arn in statement["Resource"]
        for action in statement["Action"]
    }


def test_a_function_reaches_the_map_it_uses_and_nothing_else(shelf: AwsRun) -> None:
    assert {"dynamodb:GetItem", "dynamodb:PutItem"} <= _actions_on(shelf, "shelf-price", "Prices")
    assert _actions_on(shelf, "shelf-price", "Stock") == set()
    assert _actions_on(shelf, "shelf-price", "Photos", "/*") == set()
    assert _actions_on(shelf, "shelf-price", "Photos") == set()
    assert _actions_on(shelf, "shelf-price", "Orders") == set()
    env = shelf.named("shelf-price").inputs["environment"]["variables"]
    assert env["SKAAL_USED_RESOURCES"] == "Prices"


def test_a_producer_sends_and_a_consumer_receives_its_queue(shelf: AwsRun) -> None:
    assert "sqs:SendMessage" in _actions_on(shelf, "shelf-order", "Orders")
    assert "sqs:ReceiveMessage" not in _actions_on(shelf, "shelf-order", "Orders")
    assert _actions_on(shelf, "shelf-order", "Prices") == set()
    consumer = _actions_on(shelf, "shelf-ship", "Orders")
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= consumer
    assert "dynamodb:UpdateItem" in _actions_on(shelf, "shelf-ship", "Stock")
    assert _actions_on(shelf, "shelf-ship", "Prices") == set()


def test_a_function_is_given_the_names_of_the_buckets_it_opens_only(shelf: AwsRun) -> None:
    # Lambda holds 4 KB of environment in all: a bucket's real name (about 85 bytes with
    # its variable) goes only to the functions opening it, and to the default route
    photos = shelf.named("Photos").outputs["bucket"]
    variables = {
        f.name: f.inputs["environment"]["variables"]
        for f in shelf.of_type("aws:lambda/function:Function")
    }
    assert variables["shelf-http"]["SKAAL_PHOTOS_NAME"] == photos
    for name in ("shelf-price", "shelf-order", "shelf-ship"):
        assert "SKAAL_PHOTOS_NAME" not in variables[name]


def test_the_http_default_route_keeps_every_grant(shelf: AwsRun) -> None:
    for table in ("Prices", "Stock"):
        assert "dynamodb:GetItem" in _actions_on(shelf, "shelf-http", table)
    assert "s3:GetObject" in _actions_on(shelf, "shelf-http", "Photos", "/*")
    assert "sqs:SendMessage" in _actions_on(shelf, "shelf-http", "Orders")
