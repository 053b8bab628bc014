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

from skaal import App, BlobStore, Map
from skaal.build.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.build.aws_support import ACCOUNT, AwsRun, app_context, run_program, write_with_layer

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
