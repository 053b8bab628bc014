"""Each resource is reached in its planned region: one provider per region of an implementation.

No cloud is needed: the ``dynamodb`` factory is replaced by one that records
the region each provider was opened with and serves from memory.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from skaal import App, Map
from skaal.plan.model import Binding, Plan
from skaal.runtime import Runtime
from skaal.runtime.backends import FACTORIES
from skaal.runtime.clients import MapClient
from skaal.runtime.ports import BackendSettings, Provider

pytestmark = pytest.mark.asyncio

#: resource -> the region the plan puts it in
PLACED = {"Carts": "eu-west-1", "Orders": "us-east-1", "Users": "eu-west-1"}


def _app() -> App:
    app = App("regions")
    for name in PLACED:
        app.storage()(types.new_class(name, (Map[str, str],)))
    return app


def _plan(app: App, placed: dict[str, str]) -> Plan:
    return Plan(
        app="regions",
        catalog="aws",
        provider="aws",
        region="us-east-1",
        blueprint_hash=app.blueprint().content_hash(),
        catalog_hash="c" * 64,
        bindings=tuple(
            Binding(
                resource=name,
                kind="map",
                backend="dynamodb",
                implementation="dynamodb",
                region=region,
                monthly_cost=0.0,
                reason="test",
            )
            for name, region in placed.items()
        ),
        total_monthly_cost=0.0,
    )


class Recording:
    """A ``dynamodb`` factory serving from memory, remembering each provider's region."""

    def __init__(self) -> None:
        self.regions: list[str | None] = []

    def __call__(self, settings: BackendSettings) -> Provider:
        self.regions.append(settings.region)
        return FACTORIES["memory"](settings)


@pytest.mark.parametrize(
    ("placed", "opened"),
    [
        (PLACED, ["eu-west-1", "us-east-1"]),
        (dict.fromkeys(PLACED, "eu-west-1"), ["eu-west-1"]),
    ],
)
async def test_each_region_of_an_implementation_gets_its_own_provider(
    tmp_path: Path, placed: dict[str, str], opened: list[str]
) -> None:
    app, factory = _app(), Recording()
    factories = {**FACTORIES, "dynamodb": factory}
    plan = _plan(app, placed)
    async with Runtime.open(app, plan, env={}, data_dir=tmp_path, factories=factories) as runtime:
        assert sorted(r or "" for r in factory.regions) == opened
        for name in PLACED:
            client = runtime.client_named(name)
            assert isinstance(client, MapClient)
            await client.set("k", name)
        for name in PLACED:
            client = runtime.client_named(name)
            assert isinstance(client, MapClient)
            assert await client.get("k") == name
