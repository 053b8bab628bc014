"""A function's ``uses``: the declared resources its code reaches, recorded in the Blueprint."""

from __future__ import annotations

import sys
from typing import Any

from skaal import App, Map, Module, Queue, Topic
from skaal.blueprint.model import Blueprint


class Carts(Map[str, int]): ...


class Prices(Map[str, int]): ...


class Audit(Map[str, str]): ...


class Jobs(Queue[str]): ...


class Shipped(Topic[str]): ...


def _audit(key: str) -> None:
    """A helper of this module: what it uses counts for the functions calling it."""
    Audit.__name__.format(key)


class _Ledger:
    def record(self) -> None:
        Prices.__name__.format()


def _app() -> App:
    app = App("uses")
    for cls in (Carts, Prices, Audit):
        app.storage()(cls)
    app.queue()(Jobs)
    app.topic()(Shipped)
    return app


def _uses(blueprint: Blueprint) -> dict[str, tuple[str, ...]]:
    return {s.name: s.uses for s in blueprint.resources if s.kind == "function"}


def test_a_function_records_what_its_globals_closures_and_helpers_reach() -> None:
    app = _app()
    closed = Prices

    @app.function()
    async def by_global() -> int:
        return len(Carts.__name__)

    @app.function()
    async def by_closure() -> int:
        return len(closed.__name__)

    @app.function()
    async def by_helper(key: str) -> None:
        _audit(key)

    @app.function()
    async def by_method() -> None:
        _Ledger().record()

    @app.function()
    async def by_module() -> int:
        return len(this.Carts.__name__)

    @app.function()
    async def nothing() -> int:
        return 1

    assert _uses(app.blueprint()) == {
        "by_global": ("Carts",),
        "by_closure": ("Prices",),
        "by_helper": ("Audit",),
        "by_method": ("Prices",),
        "by_module": ("Carts",),
        "nothing": (),
    }


def test_a_consumer_uses_its_queue_and_a_subscriber_its_topic() -> None:
    app = _app()

    @app.consumer(Jobs)
    async def work(job: str) -> None:
        Carts.__name__.format(job)

    @app.subscriber(Shipped)
    async def notify(sku: str) -> None: ...

    uses = _uses(app.blueprint())
    assert (uses["work"], uses["notify"]) == (("Carts", "Jobs"), ("Shipped",))


def test_undeclared_classes_are_not_uses_and_module_names_are_qualified() -> None:
    app = App("composed")
    shop = Module("shop")
    shop.storage()(Carts)

    @shop.function()
    async def add() -> int:
        return len(Carts.__name__) + len(Prices.__name__)  # Prices: not declared

    app.use(shop)
    assert _uses(app.blueprint()) == {"shop.add": ("shop.Carts",)}


class _Callable:
    async def __call__(self) -> None: ...


def test_a_function_whose_code_cannot_be_read_uses_every_resource() -> None:
    app = _app()
    target: Any = _Callable()
    target.__name__ = target.__qualname__ = "opaque"
    app.function(http=False)(target)
    assert _uses(app.blueprint())["opaque"] == ("Audit", "Carts", "Jobs", "Prices", "Shipped")


def test_uses_leave_the_blueprint_hash_alone() -> None:
    app = _app()

    @app.function()
    async def read() -> int:
        return len(Carts.__name__)

    blueprint = app.blueprint()
    assert blueprint.resource("read").uses == ("Carts",)
    cleared = blueprint.model_copy(
        update={"resources": tuple(r.model_copy(update={"uses": ()}) for r in blueprint.resources)}
    )
    assert cleared.canonical_json() == blueprint.canonical_json()


this = sys.modules[__name__]
