"""The pubsub backend's topics beyond the conformance suite: durable subscriptions, limits."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.backends.gcp_common import GcpBackendError
from skaal.runtime.backends.pubsub import PubsubProvider
from skaal.runtime.ports import BackendSettings

pytestmark = pytest.mark.asyncio


def emulator() -> str:
    host = os.environ.get("SKAAL_TEST_PUBSUB_EMULATOR_HOST")
    if not host:
        pytest.skip(
            "SKAAL_TEST_PUBSUB_EMULATOR_HOST not set: start the Pub/Sub emulator "
            "(see .ci/services/40-gcp.sh)"
        )
    return host


def spec(name: str, kind: Any = "topic") -> ResourceSpec:
    return ResourceSpec(
        name=name, kind=kind, requirements=Requirements(), location=SourceLocation(file="t", line=1)
    )


def settings(env: dict[str, str], tmp_path: Path) -> BackendSettings:
    return BackendSettings(
        app="ps-tests", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=time.time
    )


@pytest_asyncio.fixture
async def provider(tmp_path: Path) -> AsyncIterator[PubsubProvider]:
    env = {"PUBSUB_EMULATOR_HOST": emulator(), "SKAAL_GCP_NAME_PREFIX": f"g{uuid.uuid4().hex[:10]}"}
    provider = PubsubProvider(settings(env, tmp_path))
    await provider.open()
    yield provider
    await provider.close()


async def test_a_subscription_keeps_messages_between_clients(
    provider: PubsubProvider, tmp_path: Path
) -> None:
    """Same name = same subscription, even from another client (another process)."""
    topic = provider.topic(spec("Events"))
    await topic.open()
    first = await topic.subscribe("worker one/ü")
    assert await topic.publish(b"\x00\xffbinary") == 1
    other = PubsubProvider(provider.settings)
    await other.open()
    again = await other.topic(spec("Events")).subscribe("worker one/ü")
    assert await again.get(timeout=5) == b"\x00\xffbinary"
    assert await first.get(timeout=0.05) is None  # acknowledged by the other client
    await other.close()


async def test_order_is_kept_for_many_messages(provider: PubsubProvider) -> None:
    topic = provider.topic(spec("Events"))
    await topic.open()
    sub = await topic.subscribe("s")
    for i in range(30):
        await topic.publish(str(i).encode())
    assert [await sub.get(timeout=5) for _ in range(30)] == [str(i).encode() for i in range(30)]


async def test_missing_topic_outside_an_emulator_is_an_error(provider: PubsubProvider) -> None:
    topic = provider.topic(spec("Never"))
    topic._create = False  # as on Google, where the deploy stage creates topics
    with pytest.raises(GcpBackendError, match="does not exist") as err:
        await topic.open()
    assert err.value.command == "skaal deploy"
