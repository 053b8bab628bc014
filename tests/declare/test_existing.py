"""``existing=``: what a declaration may adopt, and how it reaches the Blueprint."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Map, Queue, Topic
from skaal.declare.existing import Existing, parse_existing
from skaal.errors import DeclarationError
from skaal.model.grammar import GrammarError

TABLE = "arn:aws:dynamodb:eu-west-1:123456789012:table/legacy-carts"
QUEUE = "arn:aws:sqs:eu-west-1:123456789012:jobs"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:legacy-orders"


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        (TABLE, "map", Existing("legacy-carts", ("dynamodb",), "aws", "eu-west-1")),
        (TABLE, "collection", Existing("legacy-carts", ("dynamodb",), "aws", "eu-west-1")),
        ("arn:aws:s3:::acme-images", "blob", Existing("acme-images", ("s3",), "aws")),
        ("gs://acme-uploads", "blob", Existing("acme-uploads", ("gcs",), "gcp")),
        ("legacy_carts", "map", Existing("legacy_carts", ("dynamodb",), None)),
        ("acme-images", "blob", Existing("acme-images", ("gcs", "s3"), None)),
        (QUEUE, "queue", Existing("jobs", ("sqs",), "aws", "eu-west-1")),
        (
            "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo",
            "queue",
            Existing("jobs.fifo", ("sqs",), "aws", "eu-west-1"),
        ),
        ("jobs", "queue", Existing("jobs", ("pubsub", "sqs"), None)),
        (
            "projects/acme-prod/subscriptions/order-jobs",
            "queue",
            Existing("order-jobs", ("pubsub",), "gcp"),
        ),
        (TOPIC, "topic", Existing("legacy-orders", ("sns",), "aws", "eu-west-1")),
        (f"{TOPIC}.fifo", "topic", Existing("legacy-orders.fifo", ("sns",), "aws", "eu-west-1")),
        ("legacy-orders", "topic", Existing("legacy-orders", ("pubsub", "sns"), None)),
        (
            "projects/acme-prod/topics/legacy-orders",
            "topic",
            Existing("legacy-orders", ("pubsub",), "gcp"),
        ),
    ],
)
def test_the_forms_it_reads(text: str, kind: str, expected: Existing) -> None:
    assert parse_existing(text, kind) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("arn:aws:lambda:us-east-1:123456789012:function:f", "map", "an ARN of lambda, which"),
        (QUEUE, "map", "is a sqs resource, which holds a queue, not a map"),
        (TABLE, "blob", "is a dynamodb resource, which holds a collection or map, not a blob"),
        ("gs://acme-uploads", "map", "is a gcs resource, which holds a blob, not a map"),
        ("no spaces allowed", "map", "is not an existing resource"),
        ("legacy", "secret", "a secret cannot adopt an existing resource"),
        (TOPIC, "map", "is a sns resource, which holds a topic, not a map"),
        ("postgresql://app@db.internal/shop", "map", "Skaal does not adopt database servers"),
        (42, "map", "is not an existing resource"),
        ("projects/acme-prod/subscriptions/jobs", "topic", "subscription, which holds a queue"),
        ("projects/acme-prod/topics/jobs", "queue", "is a Pub/Sub topic: a queue on Pub/Sub"),
    ],
)
def test_what_it_refuses(text: object, kind: str, message: str) -> None:
    with pytest.raises(GrammarError, match=message):
        parse_existing(text, kind)  # type: ignore[arg-type]


def test_the_blueprint_carries_what_a_resource_adopts() -> None:
    app = App("shop")

    @app.storage(existing=TABLE)
    class Carts(Map[str, int]): ...

    @app.blob(existing=" acme-images ")
    class Images(BlobStore): ...

    blueprint = app.blueprint()
    assert blueprint.resource("Carts").existing == TABLE
    assert blueprint.resource("Images").existing == "acme-images"  # as written, trimmed
    assert '"existing":"acme-images"' in blueprint.canonical_json()


def test_adopting_changes_the_hash_and_adopting_nothing_does_not_show() -> None:
    def build(existing: str | None) -> str:
        app = App("shop")
        decorator = app.storage() if existing is None else app.storage(existing=existing)

        @decorator
        class Carts(Map[str, int]): ...

        blueprint = app.blueprint()
        assert ('"existing":' in blueprint.canonical_json()) is (existing is not None)
        return blueprint.content_hash()

    assert build(None) != build("legacy-carts") != build("other-carts")


def test_a_bad_existing_is_a_declaration_error_at_its_line() -> None:
    app = App("shop")
    with pytest.raises(DeclarationError) as raised:

        @app.blob(existing=TABLE)
        class Images(BlobStore): ...

    assert "cannot be adopted" in raised.value.what
    assert "(@app.blob on class Images)" in (raised.value.where or "")
    assert "an S3 bucket ARN or name" in (raised.value.fix or "")


def test_a_pubsub_topic_is_refused_at_the_queue_naming_the_subscription_instead() -> None:
    app = App("shop")
    with pytest.raises(DeclarationError) as raised:

        @app.queue(existing="projects/acme-prod/topics/jobs")
        class Jobs(Queue[str]): ...

    assert "a queue on Pub/Sub is adopted by its subscription" in raised.value.what
    assert "(@app.queue on class Jobs)" in (raised.value.where or "")
    assert "projects/PROJECT/subscriptions/NAME" in (raised.value.fix or "")


def test_a_collection_and_a_queue_adopt() -> None:
    app = App("shop")

    class Todo(BaseModel):
        id: str

    @app.storage(existing="legacy-todos")
    class Todos(Collection[Todo]): ...

    @app.queue(existing=" https://sqs.eu-west-1.amazonaws.com/123456789012/jobs ")
    class Jobs(Queue[str]): ...

    assert app.blueprint().resource("Todos").existing == "legacy-todos"
    assert app.blueprint().resource("Jobs").existing == (
        "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
    )


def test_a_topic_adopts_an_sns_topic() -> None:
    app = App("shop")

    @app.topic(existing=TOPIC)
    class Orders(Topic[str]): ...

    assert app.blueprint().resource("Orders").existing == TOPIC


def test_a_connection_url_is_refused_without_repeating_it() -> None:
    app = App("shop")
    url = "postgresql://admin:s3cret@db.internal/shop"
    with pytest.raises(DeclarationError) as raised:

        @app.storage(existing=url)
        class Carts(Map[str, int]): ...

    assert "Skaal does not adopt database servers" in raised.value.what
    assert "s3cret" not in str(raised.value)
    assert "(@app.storage on class Carts)" in (raised.value.where or "")


def test_the_patterns_are_compiled_when_first_used() -> None:
    # a fresh interpreter: importing the declaration API compiles none of them
    probe = (
        "import skaal.declare.existing as e\n"
        "patterns = [v for v in vars(e).values() if isinstance(v, e._Pattern)]\n"
        "assert patterns and all(p._compiled is None for p in patterns)\n"
        "found = e.parse_existing('arn:aws:s3:::my-bucket', 'blob')\n"
        "assert found.name == 'my-bucket'\n"
        "print(sum(p._compiled is not None for p in patterns), len(patterns))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    compiled, every = map(int, done.stdout.split())
    assert 0 < compiled < every
