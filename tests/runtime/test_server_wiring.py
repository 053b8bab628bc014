"""The runtime opens one provider per planned server, each reading its own variable.

No server is needed: the ``redis`` factory is replaced by one that records
the settings each provider was opened with and serves from memory.  (The
tests against real servers are in ``tests/runtime/servers/test_planned_servers.py``.)
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from skaal import App, Map
from skaal.errors import SkaalRuntimeError
from skaal.plan.model import Binding, Plan
from skaal.runtime import Runtime
from skaal.runtime.backends import FACTORIES
from skaal.runtime.clients import MapClient
from skaal.runtime.ports import BackendSettings, Provider

pytestmark = pytest.mark.asyncio

#: resource -> the server the plan puts it on
PLACED = {"A": "redis#1", "B": "redis#2", "C": "redis#2", "D": "redis-twin#1"}


def _app() -> App:
    app = App("wired")
    for name in PLACED:
        app.storage(durability="ephemeral")(types.new_class(name, (Map[str, str],)))
    return app


def _plan(app: App) -> Plan:
    bindings = tuple(
        Binding(
            resource=name,
            kind="map",
            backend=instance.partition("#")[0],
            implementation="redis",
            region="local",
            instance=instance,
            monthly_cost=0.0,
            reason="test",
        )
        for name, instance in PLACED.items()
    )
    return Plan(
        app="wired",
        catalog="test",
        provider="local",
        region="local",
        blueprint_hash=app.blueprint().content_hash(),
        catalog_hash="c" * 64,
        bindings=bindings,
        total_monthly_cost=0.0,
    )


class Recording:
    """A ``redis`` factory serving from memory, remembering each provider's URL."""

    def __init__(self) -> None:
        self.urls: list[str | None] = []

    def __call__(self, settings: BackendSettings) -> Provider:
        self.urls.append(settings.env.get("SKAAL_REDIS_URL"))
        return FACTORIES["memory"](settings)


async def test_each_resource_gets_the_provider_of_its_server(tmp_path: Path) -> None:
    app, factory = _app(), Recording()
    env = {
        "SKAAL_REDIS_URL": "redis://one",
        "SKAAL_REDIS_URL_REDIS_2": "redis://two",
        "SKAAL_REDIS_URL_REDIS_TWIN_1": "redis://twin",
    }
    async with Runtime.open(
        app, _plan(app), env=env, data_dir=tmp_path, factories={**FACTORIES, "redis": factory}
    ) as runtime:
        assert sorted(u or "" for u in factory.urls) == [
            "redis://one",
            "redis://twin",
            "redis://two",
        ]
        clients = {name: runtime.client_named(name) for name in PLACED}
        for name, client in clients.items():
            assert isinstance(client, MapClient)
            await client.set("k", name)
        # B and C share server redis#2: three providers for four resources
        assert sorted(runtime._providers) == [
            "redis:redis#1",
            "redis:redis#2",
            "redis:redis-twin#1",
        ]
        for name, client in clients.items():
            assert isinstance(client, MapClient)
            assert await client.get("k") == name


async def test_an_unset_variable_of_a_second_server_stops_startup(tmp_path: Path) -> None:
    app = _app()
    env = {"SKAAL_REDIS_URL": "redis://one", "SKAAL_REDIS_URL_REDIS_2": "redis://two"}
    with pytest.raises(SkaalRuntimeError) as caught:
        async with Runtime.open(
            app,
            _plan(app),
            env=env,
            data_dir=tmp_path,
            factories={**FACTORIES, "redis": Recording()},
        ):
            pass
    message = caught.value.render()
    assert "SKAAL_REDIS_URL_REDIS_TWIN_1 is not set" in message
    assert "redis server redis-twin#1" in message
    assert "D" in message


async def test_the_first_server_keeps_the_default_without_a_variable(tmp_path: Path) -> None:
    app = App("single")
    app.storage(durability="ephemeral")(types.new_class("Only", (Map[str, str],)))
    plan = _plan(app).model_copy(
        update={
            "app": "single",
            "bindings": (
                Binding(
                    resource="Only",
                    kind="map",
                    backend="redis",
                    implementation="redis",
                    region="local",
                    instance="redis#1",
                    monthly_cost=0.0,
                    reason="test",
                ),
            ),
        }
    )
    factory = Recording()
    async with Runtime.open(
        app, plan, env={}, data_dir=tmp_path, factories={**FACTORIES, "redis": factory}
    ):
        assert factory.urls == [None]  # the backend falls back to its localhost default
