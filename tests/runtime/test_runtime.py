"""Wiring: a Runtime opens the backends the plan names and binds the typed facade."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Index, Map, Queue, Topic
from skaal.catalog.loader import load_catalog
from skaal.errors import DeclarationError
from skaal.plan.model import Plan
from skaal.runtime import (
    MissingSecretError,
    NoActiveRuntimeError,
    NotBoundError,
    Runtime,
    UnknownImplementationError,
)
from skaal.solver import solve

pytestmark = pytest.mark.asyncio


class Todo(BaseModel):
    id: str
    owner: str


def make_app() -> tuple[App, dict[str, type]]:
    app = App("demo")

    @app.storage(durability="durable")
    class Counters(Map[str, int]): ...

    @app.storage(durability="ephemeral")
    class Cache(Map[str, str]): ...

    @app.storage()
    class Todos(Collection[Todo]):
        by_owner = Index("owner")

    @app.blob()
    class Uploads(BlobStore): ...

    @app.queue(durability="durable", max_attempts=2)
    class Emails(Queue[str]): ...

    @app.topic(durability="ephemeral")
    class Events(Topic[str]): ...

    @Emails.consumer
    async def send_email(message: str) -> None: ...

    @Events.subscriber
    def audit(message: str) -> None: ...

    app.secret("OPTIONAL_TOKEN", required=False)
    names = {"Counters": Counters, "Cache": Cache, "Todos": Todos, "Uploads": Uploads}
    return app, {**names, "Emails": Emails, "Events": Events}


def plan_for(app: App) -> Plan:
    return solve(app.blueprint(), load_catalog("local"))


async def test_runtime_honours_the_plan(tmp_path: Path) -> None:
    app, cls = make_app()
    plan = plan_for(app)
    assert plan.binding("Counters").implementation == "sqlite"
    assert plan.binding("Cache").implementation == "memory"
    async with Runtime.open(app, plan, data_dir=tmp_path, env={}) as rt:
        Counters = cls["Counters"]
        assert await Counters.increment("hits", 2) == 2  # type: ignore[attr-defined]
        await cls["Cache"].set("k", "v")  # type: ignore[attr-defined]
        await cls["Todos"].put(Todo(id="1", owner="ada"))  # type: ignore[attr-defined]
        await cls["Uploads"].put("a.txt", b"hi")  # type: ignore[attr-defined]
        await cls["Emails"].send("hello")  # type: ignore[attr-defined]
        assert rt.binding("Todos").implementation == "sqlite"
    with sqlite3.connect(tmp_path / "demo.sqlite3") as raw:
        assert raw.execute('SELECT value FROM "map:Counters"').fetchall() == [(b"2",)]
        assert raw.execute('SELECT key FROM "collection:Todos"').fetchall() == [("1",)]
        assert raw.execute('SELECT body FROM "queue:Emails"').fetchall() == [(b'"hello"',)]
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
        assert "map:Cache" not in tables
        assert "collection:Todos:owner" in tables  # a real SQL index
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert (tmp_path / "blobs" / "Uploads" / "a.txt%f").read_bytes() == b"hi"


async def test_persistent_data_survives_a_restart(tmp_path: Path) -> None:
    app, cls = make_app()
    plan = plan_for(app)
    async with Runtime.open(app, plan, data_dir=tmp_path, env={}):
        await cls["Counters"].set("n", 41)  # type: ignore[attr-defined]
        await cls["Cache"].set("k", "gone")  # type: ignore[attr-defined]
    async with Runtime.open(app, plan, data_dir=tmp_path, env={}):
        assert await cls["Counters"].increment("n") == 42  # type: ignore[attr-defined]
        assert await cls["Cache"].get("k") is None  # type: ignore[attr-defined]
        assert await cls["Uploads"].list() is not None  # type: ignore[attr-defined]


async def test_no_runtime_is_a_clear_error() -> None:
    _, cls = make_app()
    with pytest.raises(NoActiveRuntimeError, match="no Skaal runtime is active") as err:
        await cls["Counters"].get("x")  # type: ignore[attr-defined]
    assert "skaal run" in str(err.value)


async def test_two_runtimes_are_isolated(tmp_path: Path) -> None:
    app, cls = make_app()
    plan = plan_for(app)
    Counters = cls["Counters"]

    async def use(directory: Path, value: int) -> int | None:
        async with Runtime.open(app, plan, data_dir=directory, env={}):
            await Counters.set("v", value)  # type: ignore[attr-defined]
            await asyncio.sleep(0.01)
            return await Counters.get("v")  # type: ignore[attr-defined,no-any-return]

    results = await asyncio.gather(use(tmp_path / "a", 1), use(tmp_path / "b", 2))
    assert results == [1, 2]


async def test_consumers_and_subscribers_are_listed(tmp_path: Path) -> None:
    app, cls = make_app()
    blueprint = app.blueprint()
    assert blueprint.resource("send_email").consumes == "Emails"
    assert blueprint.resource("audit").subscribes == "Events"
    async with Runtime.open(app, plan_for(app), data_dir=tmp_path, env={}) as rt:
        (consumer,) = rt.consumers()
        assert consumer.spec.name == "send_email"
        assert consumer.queue.policy.max_attempts == 2
        (subscriber,) = rt.subscribers()
        await cls["Events"].publish("e1")  # type: ignore[attr-defined]
        assert await subscriber.subscription.get(timeout=0.1) == "e1"
        await cls["Emails"].send("m")  # type: ignore[attr-defined]
        assert await consumer.queue.process(consumer.handler) == 1


async def test_app_consumer_decorator_and_bad_target() -> None:
    app = App("demo")

    @app.queue()
    class Jobs(Queue[int]): ...

    @app.consumer(Jobs)
    def work(n: int) -> None: ...

    assert app.blueprint().resource("work").consumes == "Jobs"
    with pytest.raises(DeclarationError, match="needs a Queue subclass"):
        app.consumer(int)  # type: ignore[arg-type]

    class Stray(Queue[int]): ...

    app.consumer(Stray)(lambda n: None)
    with pytest.raises(DeclarationError, match="not a queue this app declares"):
        app.blueprint()


async def test_missing_secret_fails_startup_naming_it(tmp_path: Path) -> None:
    app, _ = make_app()
    app.secret("STRIPE_KEY")
    plan = plan_for(app)
    with pytest.raises(MissingSecretError, match="STRIPE_KEY"):
        async with Runtime.open(app, plan, data_dir=tmp_path, env={}, project_dir=tmp_path):
            pass
    (tmp_path / ".env").write_text("# dev\nexport STRIPE_KEY='from-file'\n")
    async with Runtime.open(app, plan, data_dir=tmp_path, env={}, project_dir=tmp_path) as rt:
        assert rt.secret("STRIPE_KEY") == "from-file"
        assert rt.secret("OPTIONAL_TOKEN") is None
    env = {"STRIPE_KEY": "from-env"}
    async with Runtime.open(app, plan, data_dir=tmp_path, env=env, project_dir=tmp_path) as rt:
        assert rt.secret("STRIPE_KEY") == "from-env"


async def test_stale_plan_and_unknown_implementation(tmp_path: Path) -> None:
    app, _ = make_app()
    plan = plan_for(app)

    @app.storage()
    class Late(Map[str, int]): ...

    with pytest.raises(NotBoundError, match="no binding for Late"):
        async with Runtime.open(app, plan, data_dir=tmp_path, env={}):
            pass
    app2, _ = make_app()
    plan2 = plan_for(app2)
    bindings = tuple(
        b.model_copy(update={"implementation": "sqlitee"}) if b.resource == "Counters" else b
        for b in plan2.bindings
    )
    broken = plan2.model_copy(update={"bindings": bindings})
    with pytest.raises(UnknownImplementationError, match="did you mean 'sqlite'"):
        async with Runtime.open(app2, broken, data_dir=tmp_path, env={}):
            pass


async def test_open_from_a_blueprint_resolves_classes_by_reference(tmp_path: Path) -> None:
    app, cls = make_app()
    env = {"OPTIONAL_TOKEN": "t"}  # a Blueprint does not say a secret is optional
    async with Runtime.open(app.blueprint(), plan_for(app), data_dir=tmp_path, env=env) as rt:
        await cls["Counters"].set("a", 1)  # type: ignore[attr-defined]
        assert await rt.client(cls["Counters"]).get("a") == 1  # type: ignore[call-overload]


async def test_a_declared_collection_ttl_is_the_default_expiry(tmp_path: Path) -> None:
    app = App("expiring")

    @app.storage(ttl="1h")
    class Sessions(Collection[Todo]): ...

    now = [1_800_000_000.0]
    async with Runtime.open(app, plan_for(app), data_dir=tmp_path, env={}, clock=lambda: now[0]):
        await Sessions.put(Todo(id="short", owner="ada"))
        await Sessions.put(Todo(id="long", owner="ada"), ttl=7200)
        now[0] += 3600
        assert await Sessions.get("short") is None
        assert await Sessions.get("long") == Todo(id="long", owner="ada")
