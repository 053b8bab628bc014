"""A Topic adopting an existing Pub/Sub topic, against Google's emulator.

The topic is created beforehand with the Pub/Sub client (as a project that
already has it would); the backend, told that the resource adopts it
(``BackendSettings.adopted``, from the plan's ``Binding.adopted``), publishes
to exactly that topic whatever the name prefix, and never creates one that
is missing, even against the emulator where it creates its own topics.
Needs SKAAL_TEST_PUBSUB_EMULATOR_HOST (``.ci/services/40-gcp.sh``).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from google.cloud import pubsub_v1

from skaal.runtime.backends.gcp_common import EMULATOR_PROJECT, GcpBackendError
from skaal.runtime.backends.pubsub import PubsubProvider
from skaal.runtime.ports import BackendSettings
from tests.runtime.servers.test_gcp_pubsub import emulator, spec

pytestmark = pytest.mark.asyncio


def _provider(tmp_path: Path, adopted: str) -> PubsubProvider:
    env = {"PUBSUB_EMULATOR_HOST": emulator(), "SKAAL_GCP_NAME_PREFIX": f"g{uuid.uuid4().hex[:10]}"}
    settings = BackendSettings(
        app="ps-adopt",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env=env,
        clock=time.time,
        adopted={"Orders": adopted},
    )
    return PubsubProvider(settings)


async def test_the_backend_publishes_to_the_adopted_topic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator())  # the client of this test
    name = f"legacy-orders-{uuid.uuid4().hex[:8]}"
    path = f"projects/{EMULATOR_PROJECT}/topics/{name}"
    publisher = pubsub_v1.PublisherClient()
    publisher.create_topic(request={"name": path})
    provider = _provider(tmp_path, name)
    await provider.open()
    try:
        topic = provider.topic(spec("Orders"))
        await topic.open()
        subscription = await topic.subscribe("audit")
        assert await topic.publish(b"first") == 1
        assert await subscription.get(timeout=5) == b"first"
    finally:
        await provider.close()
    listed = list(publisher.list_topic_subscriptions(request={"topic": path}))
    assert len(listed) == 1  # the subscription is on the adopted topic


async def test_a_missing_adopted_topic_is_an_error_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulator())
    name = f"gone-{uuid.uuid4().hex[:8]}"
    provider = _provider(tmp_path, name)
    await provider.open()
    try:
        with pytest.raises(GcpBackendError, match="adopts it \\(existing=\\): Skaal never creates"):
            await provider.topic(spec("Orders")).open()
    finally:
        await provider.close()
    topics = pubsub_v1.PublisherClient().list_topics(
        request={"project": f"projects/{EMULATOR_PROJECT}"}
    )
    assert not [t for t in topics if t.name.endswith(f"/{name}")]
