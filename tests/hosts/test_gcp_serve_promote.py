"""A consumer service's promote endpoint: delayed messages of a Pub/Sub queue pushed by Pub/Sub.

Run against Google's Pub/Sub emulator (``SKAAL_TEST_PUBSUB_EMULATOR_HOST``,
started by ``.ci/services/40-gcp.sh``), with the consumer's routes called through
httpx's ASGI transport over a runtime stand-in holding one consumer.
"""

from __future__ import annotations

import base64
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.hosts.cloud_run import _function_routes
from skaal.runtime.backends.pubsub import PubsubProvider
from skaal.runtime.backends.pubsub_queue import NOT_BEFORE, PubsubQueue
from skaal.runtime.clients import QueueClient
from skaal.runtime.codecs import ValueCodec
from skaal.runtime.ports import BackendSettings
from skaal.runtime.runtime import Consumer


def _spec(name: str, kind: Any, **extra: Any) -> ResourceSpec:
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements(),
        location=SourceLocation(file="t", line=1),
        **extra,
    )


class _Runtime:
    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    def consumers(self) -> tuple[Consumer, ...]:
        return (self._consumer,)

    def subscribers(self) -> tuple[Any, ...]:
        return ()


pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, PubsubQueue]]:
    host = os.environ.get("SKAAL_TEST_PUBSUB_EMULATOR_HOST")
    if not host:
        pytest.skip(
            "SKAAL_TEST_PUBSUB_EMULATOR_HOST not set: start the Pub/Sub emulator "
            "(see .ci/services/40-gcp.sh)"
        )
    env = {"PUBSUB_EMULATOR_HOST": host, "SKAAL_GCP_NAME_PREFIX": f"p{uuid.uuid4().hex[:10]}"}
    settings = BackendSettings(
        app="jobs", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=time.time
    )
    provider = PubsubProvider(settings)
    await provider.open()
    queue = provider.queue(_spec("Work", "queue"))
    await queue.open()
    client = QueueClient(queue, resource="Work", values=ValueCodec(str, resource="Work"))
    spec = _spec("run_job", "function", consumes="Work")
    consumer = Consumer(spec, lambda job: None, client)
    state = SimpleNamespace(runtime=_Runtime(consumer))
    found = SimpleNamespace(
        http=(), schedules=(), blueprint=SimpleNamespace(resource=lambda _: spec)
    )
    app = Starlette(routes=_function_routes(found, state, "run_job"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as http:
        yield http, queue
    await provider.close()


def _envelope(data: bytes, attributes: dict[str, str], message_id: str) -> dict[str, object]:
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": attributes,
            "messageId": message_id,
        },
        "subscription": "projects/p/subscriptions/jobs-work-delayed",
    }


async def test_a_due_message_is_published_to_the_queue_keeping_its_id(
    served: tuple[httpx.AsyncClient, PubsubQueue],
) -> None:
    http, queue = served
    due = {NOT_BEFORE: repr(time.time() - 1)}
    answer = await http.post("/_skaal/promote/run_job", json=_envelope(b'"job"', due, "m-17"))
    assert answer.status_code == 204, answer.text
    (delivery,) = await queue.receive(max_messages=5, visibility_timeout=30)
    assert (delivery.id, delivery.body, delivery.attempt) == ("m-17", b'"job"', 1)


async def test_an_early_message_is_refused_so_pub_sub_offers_it_again_later(
    served: tuple[httpx.AsyncClient, PubsubQueue],
) -> None:
    http, queue = served
    later = {NOT_BEFORE: repr(time.time() + 3600)}
    answer = await http.post("/_skaal/promote/run_job", json=_envelope(b'"job"', later, "m-18"))
    assert answer.status_code == 425
    assert await queue.receive(max_messages=5, visibility_timeout=30) == []


async def test_unknown_consumers_and_malformed_envelopes(
    served: tuple[httpx.AsyncClient, PubsubQueue],
) -> None:
    http, _ = served
    envelope = _envelope(b"x", {}, "m")
    assert (await http.post("/_skaal/promote/nobody", json=envelope)).status_code == 404
    assert (await http.post("/_skaal/promote/run_job", json={"nope": 1})).status_code == 202
