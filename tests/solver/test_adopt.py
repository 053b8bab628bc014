"""The solver and ``existing=``: an adopted resource lands on the service that holds it.

Planned against the bundled catalogs: the restriction to the adopted
service, the region an ARN names, the provider an ARN or URL names, the
local target (where nothing is adopted), and the conflicts that make a plan
unsatisfiable.
"""

from __future__ import annotations

import pytest

from skaal import App, BlobStore, Map, Queue, Topic
from skaal.catalog.loader import load_catalog
from skaal.errors import PlanError, UnsatisfiableError
from skaal.solver import solve

TABLE = "arn:aws:dynamodb:{region}:123456789012:table/legacy-carts"


def _app(existing: str, **constraints: str) -> App:
    app = App("shop")

    @app.storage(existing=existing, **constraints)  # type: ignore[arg-type]
    class Carts(Map[str, int]): ...

    return app


def test_a_large_map_that_would_go_to_a_server_stays_on_its_dynamodb_table() -> None:
    busy = {"reads": "2000/s", "writes": "2000/s", "size": "50GB"}
    free = solve(_app("legacy-carts").blueprint(), load_catalog("aws"))
    assert free.binding("Carts").implementation == "dynamodb"  # a plain name: adoptable ones
    unadopted = App("shop")

    @unadopted.storage(**busy)  # type: ignore[arg-type]
    class Carts(Map[str, int]): ...

    elsewhere = solve(unadopted.blueprint(), load_catalog("aws")).binding("Carts")
    assert elsewhere.implementation != "dynamodb"  # left alone, the planner moves it
    adopted = solve(_app("legacy-carts", **busy).blueprint(), load_catalog("aws"))
    binding = adopted.binding("Carts")
    assert (binding.implementation, binding.adopted) == ("dynamodb", "legacy-carts")
    assert binding.monthly_cost > 0  # priced as the catalog prices the table
    assert "adopts the existing legacy-carts" in binding.reason


def test_the_binding_is_in_the_region_the_arn_names() -> None:
    plan = solve(_app(TABLE.format(region="eu-west-1")).blueprint(), load_catalog("aws"))
    assert plan.region == "us-east-1"
    assert plan.binding("Carts").region == "eu-west-1"


def test_an_arn_outside_the_declared_residency_is_unsatisfiable() -> None:
    app = _app(TABLE.format(region="us-east-1"), residency="eu")
    with pytest.raises(UnsatisfiableError) as raised:
        solve(app.blueprint(), load_catalog("aws"))
    assert "existing" in str(raised.value)


def test_a_pin_elsewhere_conflicts_with_the_adopted_table() -> None:
    app = _app(TABLE.format(region="us-east-1"), backend="rds-postgres")
    with pytest.raises(UnsatisfiableError) as raised:
        solve(app.blueprint(), load_catalog("aws"))
    assert "remove existing=" in str(raised.value)


def test_an_aws_arn_on_a_gcp_plan_is_a_plan_error() -> None:
    with pytest.raises(PlanError) as raised:
        solve(_app(TABLE.format(region="us-east-1")).blueprint(), load_catalog("gcp"))
    assert "a resource on aws, but catalog 'gcp' plans for gcp" in raised.value.what
    assert "skaal plan --target aws" in (raised.value.fix or "")


def test_a_bucket_url_picks_its_service() -> None:
    app = App("shop")

    @app.blob(existing="gs://acme-uploads")
    class Uploads(BlobStore): ...

    binding = solve(app.blueprint(), load_catalog("gcp")).binding("Uploads")
    assert (binding.implementation, binding.adopted) == ("gcs", "acme-uploads")


def test_the_local_target_runs_it_locally() -> None:
    plan = solve(_app(TABLE.format(region="eu-west-1")).blueprint(), load_catalog("local"))
    binding = plan.binding("Carts")
    assert binding.adopted is None
    assert binding.implementation in ("sqlite", "memory")


def test_an_adopted_topic_is_on_sns_in_the_region_its_arn_names() -> None:
    app = App("shop")

    @app.topic(existing="arn:aws:sns:eu-west-1:123456789012:legacy-orders")
    class Orders(Topic[str]): ...

    binding = solve(app.blueprint(), load_catalog("aws")).binding("Orders")
    assert (binding.implementation, binding.adopted) == ("sns", "legacy-orders")
    assert binding.region == "eu-west-1"
    assert "adopts the existing legacy-orders" in binding.reason
    with pytest.raises(PlanError, match="a resource on aws"):
        solve(app.blueprint(), load_catalog("gcp"))


def test_an_adopted_queue_stays_on_sqs_in_the_region_its_url_names() -> None:
    app = App("shop")

    @app.queue(existing="https://sqs.eu-west-1.amazonaws.com/123456789012/legacy-jobs")
    class Jobs(Queue[str]): ...

    binding = solve(app.blueprint(), load_catalog("aws")).binding("Jobs")
    assert (binding.implementation, binding.adopted) == ("sqs", "legacy-jobs")
    assert binding.region == "eu-west-1"
    local = solve(app.blueprint(), load_catalog("local")).binding("Jobs")
    assert local.adopted is None  # nothing to adopt locally


def test_an_adopted_pubsub_subscription_is_a_queue_on_pubsub_priced_by_the_catalog() -> None:
    app = App("shop")

    @app.queue(existing="projects/acme-prod/subscriptions/order-jobs")
    class Jobs(Queue[str]): ...

    created = App("shop")

    @created.queue()
    class Jobs2(Queue[str]): ...

    plan = solve(app.blueprint(), load_catalog("gcp"))
    binding = plan.binding("Jobs")
    assert (binding.implementation, binding.adopted) == ("pubsub", "order-jobs")
    assert "adopts the existing order-jobs" in binding.reason
    fresh = solve(created.blueprint(), load_catalog("gcp")).binding("Jobs2")
    assert binding.monthly_cost == fresh.monthly_cost > 0  # the catalog's price of a Pub/Sub queue
    with pytest.raises(PlanError, match="a resource on gcp"):
        solve(app.blueprint(), load_catalog("aws"))


def test_an_adopted_pubsub_topic_is_on_pubsub_and_a_plain_name_on_either_provider() -> None:
    app = App("shop")

    @app.topic(existing="projects/acme-prod/topics/legacy-orders")
    class Orders(Topic[str]): ...

    @app.topic(existing="legacy-events")
    class Events(Topic[str]): ...

    plan = solve(app.blueprint(), load_catalog("gcp"))
    assert (plan.binding("Orders").implementation, plan.binding("Orders").adopted) == (
        "pubsub",
        "legacy-orders",
    )
    assert plan.binding("Events").adopted == "legacy-events"
    with pytest.raises(PlanError, match="a resource on gcp"):
        solve(app.blueprint(), load_catalog("aws"))
