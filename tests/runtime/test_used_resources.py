"""A deployed function opens only the resources it uses, and finds its topics by ARN.

* ``SKAAL_USED_RESOURCES`` (set per function by the aws build, see
  :mod:`skaal.builder.targets.aws_iam`): the runtime opens those state
  resources and no other, so the function's role needs nothing on the rest;
  reaching another one is a clear ``NotBoundError``, and consumers and
  subscriptions of unopened queues and topics are left to their own
  functions.  Unset (``skaal run``, the HTTP default route), everything opens.
* ``SKAAL_<TOPIC>_ARN`` (set by the aws build from its program's outputs): the
  SNS backend publishes to that ARN instead of finding the topic with
  ``ListTopics``, which no function's role may call.
"""

from __future__ import annotations

import os
import types
import uuid
from pathlib import Path

import boto3
import pytest

from skaal import App, Map, Queue, Topic
from skaal.blueprint.model import ResourceSpec, SourceLocation
from skaal.catalog.loader import load_catalog
from skaal.errors import SkaalRuntimeError
from skaal.plan.wiring import resource_env, used_value
from skaal.runtime import Runtime
from skaal.runtime.errors import InvalidSettingError, NotBoundError
from skaal.solver import solve


def _shelf() -> App:
    app = App("shelf")
    prices = types.new_class("Prices", (Map[str, int],))
    stock = types.new_class("Stock", (Map[str, int],))
    orders = types.new_class("Orders", (Queue[str],))
    app.storage(durability="persistent")(prices)
    app.storage(durability="persistent")(stock)
    app.queue(durability="persistent")(orders)

    @app.function()
    async def price(sku: str) -> int | None:
        return await prices.get(sku)  # type: ignore[no-any-return, attr-defined]

    @app.consumer(orders)
    async def ship(sku: str) -> None:
        await stock.set(sku, 0)  # type: ignore[attr-defined]

    return app


@pytest.mark.asyncio
async def test_a_function_opens_only_what_it_uses(tmp_path: Path) -> None:
    app = _shelf()
    plan = solve(app.blueprint(), load_catalog("local"))
    env = {"SKAAL_FUNCTION": "price", "SKAAL_USED_RESOURCES": "Prices"}
    async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path) as rt:
        prices = rt.client_named("Prices")
        await prices.set("sku-1", 3)  # type: ignore[union-attr]
        assert await prices.get("sku-1") == 3  # type: ignore[union-attr]
        with pytest.raises(NotBoundError, match="'Stock' is not opened by price") as caught:
            rt.client_named("Stock")
        assert "same module" in (caught.value.fix or "")
        assert rt.consumers() == ()  # ship's queue is ship's to open
    # without the variable (skaal run, the HTTP default route) everything opens
    async with Runtime.open(app, plan, data_dir=tmp_path, env={}, project_dir=tmp_path) as rt:
        assert await rt.client_named("Prices").get("sku-1") == 3  # type: ignore[union-attr]
        rt.client_named("Stock")
        assert [c.spec.name for c in rt.consumers()] == ["ship"]


@pytest.mark.asyncio
async def test_the_consumer_opens_its_queue_and_the_map_it_writes(tmp_path: Path) -> None:
    app = _shelf()
    plan = solve(app.blueprint(), load_catalog("local"))
    env = {"SKAAL_FUNCTION": "ship", "SKAAL_USED_RESOURCES": "Orders,Stock"}
    async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path) as rt:
        assert [c.spec.name for c in rt.consumers()] == ["ship"]
        with pytest.raises(NotBoundError, match="'Prices' is not opened by ship"):
            rt.client_named("Prices")


@pytest.mark.asyncio
async def test_the_compact_forms_open_the_same_resources(tmp_path: Path) -> None:
    # A list too long for Lambda's 4 KB of environment is written "@uses" (the function's
    # own uses, read from the app's blueprint) or "!" and the resources not opened
    app = _shelf()
    plan = solve(app.blueprint(), load_catalog("local"))
    for value in ("@uses", "!Orders,Stock"):
        env = {"SKAAL_FUNCTION": "price", "SKAAL_USED_RESOURCES": value}
        async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path) as rt:
            rt.client_named("Prices")
            with pytest.raises(NotBoundError, match="'Stock' is not opened by price"):
                rt.client_named("Stock")
            assert rt.consumers() == ()
    env = {"SKAAL_FUNCTION": "ship", "SKAAL_USED_RESOURCES": "@uses"}
    async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path) as rt:
        assert [c.spec.name for c in rt.consumers()] == ["ship"]  # its trigger is its own
        with pytest.raises(NotBoundError, match="'Prices' is not opened by ship"):
            rt.client_named("Prices")


@pytest.mark.asyncio
async def test_the_uses_of_a_function_the_app_lacks_are_a_clear_error(tmp_path: Path) -> None:
    app = _shelf()
    plan = solve(app.blueprint(), load_catalog("local"))
    env = {"SKAAL_FUNCTION": "gone", "SKAAL_USED_RESOURCES": "@uses"}
    with pytest.raises(InvalidSettingError, match="SKAAL_FUNCTION='gone', which is not a function"):
        async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path):
            pass


def test_a_long_list_is_written_in_its_shortest_form() -> None:
    app = _shelf()
    (price,) = [s for s in app.blueprint().resources if s.name == "price"]
    state = ["Orders", "Prices", "Stock"]
    assert used_value(["Prices"], function=price, state=state) == "Prices"  # short: as it is
    many = [f"Table{i:04d}" for i in range(100)]  # 999 characters listed
    own = _uses_of(many)
    assert used_value(many, function=own, state=[*many, "P"]) == "!P"  # shorter than @uses
    every = [*many, "Prices"]
    assert used_value(many, function=own, state=every) == "@uses"
    assert (
        used_value(many, function=own, state=[*every, *(f"Other{i:04d}" for i in range(200))])
        == "@uses"
    )
    assert used_value(
        many, function=None, state=[*every, *(f"Other{i:04d}" for i in range(200))]
    ) == (
        ",".join(many)  # nothing shorter: the list
    )


def _uses_of(names: list[str]) -> ResourceSpec:
    return ResourceSpec(
        name="wide",
        kind="function",
        location=SourceLocation(file="app.py", line=1),
        uses=tuple(names),
    )


def _moto() -> dict[str, str]:
    address = os.environ.get("SKAAL_TEST_AWS_ENDPOINT_URL")
    if not address:
        pytest.skip("SKAAL_TEST_AWS_ENDPOINT_URL not set: start moto (see .ci/services/30-moto.sh)")
    return {
        "SKAAL_AWS_ENDPOINT_URL": address,
        "SKAAL_AWS_NAME_PREFIX": f"t{uuid.uuid4().hex[:12]}",
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _news() -> App:
    app = App("news")
    app.topic(durability="ephemeral")(types.new_class("Events", (Topic[str],)))
    return app


@pytest.mark.asyncio
async def test_a_topic_is_reached_by_the_arn_the_build_passes(tmp_path: Path) -> None:
    env = _moto()
    app = _news()
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("Events").implementation == "sns"
    sns = boto3.client("sns", endpoint_url=env["SKAAL_AWS_ENDPOINT_URL"], region_name="us-east-1")
    # a name the runtime would never look for: only the ARN leads to it
    arn = sns.create_topic(Name=f"elsewhere-{uuid.uuid4().hex[:8]}")["TopicArn"]
    with_arn = {**env, resource_env("Events", "ARN"): arn}
    async with Runtime.open(app, plan, data_dir=tmp_path, env=with_arn, project_dir=tmp_path) as rt:
        await rt.client_named("Events").publish("hello")  # type: ignore[union-attr]
    # without it the runtime looks the topic up by its name, which does not exist
    with pytest.raises(SkaalRuntimeError, match="does not exist"):
        async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path):
            pass
