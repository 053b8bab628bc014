"""``App``, ``Module``, secrets, mounts and the Blueprint they compose into."""

from __future__ import annotations

import json
import sys
import textwrap
import types
import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import pytest
from pydantic import BaseModel

from skaal import (
    App,
    BlobStore,
    Collection,
    Cron,
    DeclarationError,
    Every,
    Index,
    Map,
    Module,
    Queue,
    Secret,
    Topic,
)
from skaal.blueprint.model import Blueprint, Requirements
from skaal.declare.resources import Resource


def lineno() -> int:
    return sys._getframe(1).f_lineno


class Cart(BaseModel):
    id: str
    owner: str
    total: float = 0.0


class Order(BaseModel):
    number: int
    customer: str


async def asgi(scope: object, receive: object, send: object) -> None: ...


# -- App and Module arguments -----------------------------------------------------


@pytest.mark.parametrize("name", ["shop", "my-shop", "a1", "x" * 40])
def test_app_names(name: str) -> None:
    assert App(name).blueprint().app == name


@pytest.mark.parametrize("name", ["Shop", "a", "1shop", "shop-", "my_shop", "x" * 41, "", 5])
def test_bad_app_names(name: object) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        App(name)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}: app name {name!r} is not valid" in text
    assert "2-40 lower-case letters, digits and dashes" in text


@pytest.mark.parametrize("name", ["Billing", "1x", "bill-ing", "", None])
def test_bad_module_names(name: object) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        Module(name)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}: module name {name!r} is not valid" in text
    assert "lower-case letters, digits and underscores" in text


def test_budget_and_max_backends() -> None:
    blueprint = App("shop", budget="$1,200/month", max_backends=3).blueprint()
    assert blueprint.budget_usd_month == 1200.0
    assert blueprint.max_backends == 3
    unbounded = App("shop").blueprint()
    assert unbounded.budget_usd_month is None
    assert unbounded.max_backends is None


@pytest.mark.parametrize(
    ("budget", "fragment"),
    [
        ("200", "'200' is not a monthly amount"),
        ("$200", "'$200' is not a monthly amount"),
        ("200/month", "'200/month' has no currency"),
        (200, "a monthly amount must be text, got 200 (int)"),
        (None, "a monthly amount must be text, got None"),
    ],
)
def test_bad_budgets(budget: object, fragment: str) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        App("shop", budget=budget)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}: bad budget: {fragment}" in text
    assert "'$200/month'" in text


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "3", None])
def test_bad_max_backends(value: object) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        App("shop", max_backends=value)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}: max_backends={value!r} is not a positive integer" in text
    assert "max_backends=3" in text


# -- decorators record and return the object unchanged ----------------------------


def test_decorators_return_the_object_unchanged() -> None:
    app = App("demo")

    class Plain(Map[str, int]): ...

    declared = app.storage(size="1GB")(Plain)
    assert declared is Plain
    assert vars(declared) == vars(Plain)

    def handler() -> str:
        return "hi"

    def job() -> None: ...

    assert app.function()(handler) is handler
    assert app.schedule(Every("5m"))(job) is job
    assert handler() == "hi"


def test_decoration_performs_no_io() -> None:
    events: list[str] = []
    watching = [False]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if watching[0] and event.split(".", maxsplit=1)[0] in {
            "open",
            "socket",
            "subprocess",
            "os",
        }:
            events.append(event)

    sys.addaudithook(hook)
    watching[0] = True
    try:
        app = App("noio", budget="$10/month")
        billing = app.use(Module("billing"))

        @app.storage(read_latency="< 5ms", size="1GB", durability="durable")
        class Carts(Collection[Cart]):
            by_owner = Index("owner")

        @billing.storage(collocate_with=Carts)
        class Invoices(Map[str, int]): ...

        @app.blob(size="10GB")
        class Uploads(BlobStore): ...

        @app.queue(messages="10/s")
        class Jobs(Queue[str]): ...

        @app.schedule(Cron("0 * * * *"), secrets=[Secret("TOKEN")])
        def hourly() -> None: ...

        app.mount("/api", asgi)
        app.blueprint()
    finally:
        watching[0] = False
    assert events == []


# -- type parameters --------------------------------------------------------------


def test_map_records_key_and_value_types() -> None:
    app = App("demo")

    @app.storage()
    class Carts(Map[str, Cart]): ...

    spec = app.blueprint().resource("Carts")
    assert (spec.kind, spec.key_type, spec.value_type) == ("map", "str", f"{__name__}.Cart")


K = TypeVar("K")
V = TypeVar("V")


class Keyed(Map[str, V]):
    """A user's generic base: its subclasses give the value type."""


class Inbox(Queue[V]): ...


def test_a_generic_base_passes_its_subclass_types_through() -> None:
    app = App("demo")

    @app.storage()
    class Carts(Keyed[Cart]): ...

    @app.queue()
    class Mail(Inbox[int]): ...

    bp = app.blueprint()
    spec = bp.resource("Carts")
    assert (spec.key_type, spec.value_type) == ("str", f"{__name__}.Cart")
    assert bp.resource("Mail").value_type == "int"


def test_a_type_variable_left_open_is_a_declaration_error() -> None:
    app = App("demo")
    with pytest.raises(DeclarationError, match="Carts leaves the type variable V of its base open"):

        @app.storage()
        class Carts(Keyed): ...  # type: ignore[type-arg]


class Pair(BaseModel):
    id: str


@pytest.mark.parametrize("base", [Map[str, int], Collection[Pair], Queue[str], Topic[bytes]])
def test_resource_classes_get_what_generic_gives_them(base: Any) -> None:
    # Resource skips Generic's hook for a fully parameterised base: running
    # that hook on the finished class must change nothing
    cls = types.new_class("Things", (base,))
    before = dict(vars(cls))
    super(Resource, cls).__init_subclass__()  # Generic's own hook
    assert dict(vars(cls)) == before
    assert cls.__parameters__ == ()
    with pytest.raises(TypeError):
        cls[int]


def test_generic_resource_subclasses_keep_their_parameters() -> None:
    class Keyed(Map[K, int]): ...

    class Mixed(Map[str, int], Generic[K]): ...

    assert Keyed.__parameters__ == (K,)
    assert Mixed.__parameters__ == (K,)
    assert typing.get_args(Keyed[str]) == (str,)
    counts = types.new_class("Counts", (Keyed[str],))
    assert counts.__parameters__ == ()
    with pytest.raises(TypeError, match="Cannot inherit from plain Generic"):
        types.new_class("Plain", (Map[str, int], Generic))


def test_map_without_type_arguments() -> None:
    app = App("demo")
    line = lineno() + 3
    with pytest.raises(DeclarationError) as info:

        @app.storage()
        class Counters(Map): ...  # type: ignore[type-arg]

    text = str(info.value)
    assert f"{__file__}:{line}: Counters subclasses Map without key and value types" in text
    assert "class Counters(Map[str, YourValue])" in text


@pytest.mark.parametrize("base", [Queue, Topic])
def test_messaging_without_a_message_type(base: type) -> None:
    app = App("demo")
    line = lineno() + 1
    decorator = app.queue() if base is Queue else app.topic()
    with pytest.raises(DeclarationError) as info:
        decorator(type("Events", (base,), {}))
    text = str(info.value)
    assert f"{__file__}:{line}: Events subclasses {base.__name__} without a message type" in text
    assert f"class Events({base.__name__}[YourMessage])" in text


def test_collection_records_key_and_indexes() -> None:
    app = App("demo")

    @app.storage()
    class Orders(Collection[Order]):
        key = "number"
        by_customer = Index("customer")
        again = Index("customer")

    spec = app.blueprint().resource("Orders")
    assert spec.key_field == "number"
    assert spec.key_type == "int"
    assert spec.indexes == ("customer",)
    assert spec.value_type == f"{__name__}.Order"


def test_collection_defaults_its_key_to_id() -> None:
    app = App("demo")

    @app.storage()
    class Carts(Collection[Cart]): ...

    assert app.blueprint().resource("Carts").key_field == "id"


@pytest.mark.parametrize("argument", [int, dict, "Cart"])
def test_collection_needs_a_pydantic_model(argument: object) -> None:
    app = App("demo")
    line = lineno() + 3
    with pytest.raises(DeclarationError) as info:

        @app.storage()
        class Things(Collection[argument]): ...  # type: ignore[valid-type]

    text = str(info.value)
    assert f"{__file__}:{line}: Things needs a pydantic model: Collection[YourModel]" in text
    assert "pydantic.BaseModel" in text


def test_collection_without_an_id_needs_a_key() -> None:
    app = App("demo")
    line = lineno() + 3
    with pytest.raises(DeclarationError) as info:

        @app.storage()
        class Orders(Collection[Order]): ...

    text = str(info.value)
    assert f"{__file__}:{line}: Orders does not say which field of Order is its key" in text
    assert "fields: customer, number" in text


def test_collection_with_a_bad_key() -> None:
    app = App("demo")
    line = lineno() + 3
    with pytest.raises(DeclarationError) as info:

        @app.storage()
        class Orders(Collection[Order]):
            key = "numbr"

    text = str(info.value)
    assert f"{__file__}:{line}: Orders.key = 'numbr' is not a field of Order" in text
    assert "(did you mean 'number'?)" in text


def test_collection_with_a_bad_index() -> None:
    app = App("demo")
    line = lineno() + 3
    with pytest.raises(DeclarationError) as info:

        @app.storage()
        class Carts(Collection[Cart]):
            by_owner = Index("ownr")

    text = str(info.value)
    assert f"{__file__}:{line}: Carts.by_owner = Index('ownr'): no such field in Cart" in text
    assert "(did you mean 'owner'?)" in text
    assert "fields: id, owner, total" in text


# -- duplicates -------------------------------------------------------------------


def test_declaring_a_class_twice() -> None:
    app = App("demo")

    class Carts(Map[str, int]): ...

    app.storage()(Carts)
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.storage(size="1GB")(Carts)
    text = str(info.value)
    assert f"{__file__}:{line}: Carts is declared twice" in text
    assert f"the first is at {__file__}:{line - 3}" in text


def test_two_resources_with_one_name() -> None:
    app = App("demo")

    def make() -> type:
        class Carts(Map[str, int]): ...

        return Carts

    app.storage()(make())
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.storage()(make())
    text = str(info.value)
    assert f"{__file__}:{line}: two maps are named 'Carts' in app" in text
    assert "rename one" in text


def test_duplicate_module_names() -> None:
    app = App("demo")
    app.use(Module("billing"))
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.use(Module("billing"))
    text = str(info.value)
    assert f"{__file__}:{line}: a module named 'billing' is already used by this app" in text


@pytest.mark.parametrize("other", [App("other"), "billing", None])
def test_use_needs_a_module(other: object) -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.use(other)  # type: ignore[arg-type]
    assert f"{__file__}:{line}: app.use() takes a Module, got {other!r}" in str(info.value)


# -- modules and co-location ------------------------------------------------------


def shop() -> App:
    """A small multi-module app, declared the same way every time it is called."""
    app = App("shop", budget="$100/month")
    billing = app.use(Module("billing"))
    cart = app.use(Module("cart"))

    @cart.storage(read_latency="< 10ms", size="5GB")
    class Carts(Collection[Cart]):
        by_owner = Index("owner")

    @billing.storage(collocate_with=Carts, durability="durable")
    class Invoices(Map[str, int]): ...

    @billing.storage(collocate_with="Invoices")
    class Receipts(Map[str, str]): ...

    @app.storage(collocate_with="billing.Invoices")
    class Sessions(Map[str, str]): ...

    @billing.queue(messages="5/s")
    class Payments(Queue[str]): ...

    @billing.function(secrets=[Secret("STRIPE_KEY")])
    def charge() -> str:
        return "charged"

    app.secret("STRIPE_KEY")
    app.mount("/api", asgi)
    return app


def test_modules_namespace_their_resources() -> None:
    names = [(r.name, r.kind) for r in shop().blueprint().resources]
    assert names == [
        ("STRIPE_KEY", "secret"),
        ("Sessions", "map"),
        ("billing.Invoices", "map"),
        ("billing.Payments", "queue"),
        ("billing.Receipts", "map"),
        ("billing.charge", "function"),
        ("cart.Carts", "collection"),
    ]


def test_collocate_with_resolves_classes_and_names_across_modules() -> None:
    blueprint = shop().blueprint()
    assert blueprint.resource("billing.Invoices").requirements.collocate_with == "cart.Carts"
    assert blueprint.resource("billing.Receipts").requirements.collocate_with == (
        "billing.Invoices"
    )
    assert blueprint.resource("Sessions").requirements.collocate_with == "billing.Invoices"


@pytest.mark.parametrize(
    ("peer", "fragment"),
    [
        ("Cartz", "co-located with 'Cartz', which is not a Map, Collection or BlobStore"),
        ("Carts", "co-located with 'Carts', which is not a Map, Collection or BlobStore"),
        ("charge", "co-located with 'charge'"),
        ("STRIPE_KEY", "co-located with 'STRIPE_KEY'"),
        ("Invoices", "Invoices is co-located with itself"),
    ],
)
def test_collocate_with_undeclared_or_self(peer: str, fragment: str) -> None:
    app = App("demo")
    cart = app.use(Module("cart"))

    @cart.storage()
    class Carts(Map[str, int]): ...

    @app.function()
    def charge() -> None: ...

    app.secret("STRIPE_KEY")
    line = lineno() + 2

    @app.storage(collocate_with=peer)
    class Invoices(Map[str, int]): ...

    with pytest.raises(DeclarationError) as info:
        app.blueprint()
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert fragment in text


def test_collocate_with_an_undeclared_class() -> None:
    app = App("demo")

    class Elsewhere(Map[str, int]): ...

    @app.storage(collocate_with=Elsewhere)
    class Invoices(Map[str, int]): ...

    with pytest.raises(DeclarationError) as info:
        app.blueprint()
    assert "Invoices is co-located with 'test_collocate_with_an_undeclared_class" in str(info.value)


def test_collocate_with_suggests_a_declared_name() -> None:
    app = App("demo")

    @app.storage()
    class Carts(Map[str, int]): ...

    @app.storage(collocate_with="Crats")
    class Invoices(Map[str, int]): ...

    with pytest.raises(DeclarationError) as info:
        app.blueprint()
    assert "(did you mean 'Carts'?)" in str(info.value)


# -- secrets and mounts -----------------------------------------------------------


def test_secrets() -> None:
    app = App("demo")
    key = app.secret("API_KEY", description="upstream token")
    assert key == Secret("API_KEY", description="upstream token")

    @app.function(secrets=[key, Secret("OTHER", required=False)])
    def call() -> None: ...

    blueprint = app.blueprint()
    assert blueprint.resource("call").secrets == ("API_KEY", "OTHER")
    assert blueprint.resource("OTHER").kind == "secret"
    assert blueprint.resource("API_KEY").python_ref is None


@pytest.mark.parametrize("name", ["stripe_key", "1KEY", "API-KEY", "", 5])
def test_bad_secret_names(name: object) -> None:
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        Secret(name)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}: Secret name {name!r} is not an environment-variable name" in text
    assert "Secret('STRIPE_KEY')" in text


def test_bad_secret_name_through_the_app_points_at_the_caller() -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.secret("api key")
    assert f"{__file__}:{line}: Secret name 'api key'" in str(info.value)


def test_secret_declared_twice_differently() -> None:
    app = App("demo")
    app.secret("TOKEN")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.secret("TOKEN", required=False)
    assert f"{__file__}:{line}: secret 'TOKEN' is declared twice" in str(info.value)


def test_secret_declared_differently_in_a_module() -> None:
    app = App("demo")
    billing = app.use(Module("billing"))
    app.secret("TOKEN")
    line = lineno() + 1
    billing.secret("TOKEN", required=False)
    with pytest.raises(DeclarationError) as info:
        app.blueprint()
    assert f"{__file__}:{line}: secret 'TOKEN' is declared twice" in str(info.value)


def test_function_secrets_must_be_secret_objects() -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.function(secrets=["API_KEY"])  # type: ignore[list-item]
    text = str(info.value)
    assert f"{__file__}:{line}: @app.function: secrets must be Secret objects" in text
    assert "secrets=[Secret('API_KEY')]" in text


def test_mounts() -> None:
    app = App("demo")
    app.mount("/api/", asgi)
    app.mount("/", asgi)
    mounts = app.blueprint().mounts
    assert [m.path for m in mounts] == ["/", "/api"]
    assert mounts[1].python_ref == f"{__name__}:asgi"


@pytest.mark.parametrize("path", ["api", "", "/a b", "/api?x=1", None])
def test_bad_mount_paths(path: object) -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.mount(path, asgi)  # type: ignore[arg-type]
    text = str(info.value)
    assert f"{__file__}:{line}: mount path {path!r} is not a URL path" in text
    assert "app.mount('/api', api)" in text


@pytest.mark.parametrize("target", [5, "app:api", None])
def test_mount_of_non_asgi(target: object) -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.mount("/api", target)
    text = str(info.value)
    assert f"{__file__}:{line}: app.mount('/api', ...) got {target!r}" in text
    assert "not an ASGI or WSGI application (not callable)" in text


def test_mount_twice() -> None:
    app = App("demo")
    app.mount("/api", asgi)
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.mount("/api/", asgi)
    assert f"{__file__}:{line}: path '/api' is mounted twice" in str(info.value)


def test_mount_twice_across_modules() -> None:
    app = App("demo")
    web = app.use(Module("web"))
    app.mount("/api", asgi)
    line = lineno() + 1
    web.mount("/api", asgi)
    with pytest.raises(DeclarationError) as info:
        app.blueprint()
    assert f"{__file__}:{line}: path '/api' is mounted twice" in str(info.value)


# -- the blueprint ----------------------------------------------------------------


def test_blueprint_is_sorted_and_frozen() -> None:
    blueprint = shop().blueprint()
    keys = [(r.name, r.kind) for r in blueprint.resources]
    assert keys == sorted(keys)
    with pytest.raises(AttributeError, match="immutable"):
        blueprint.app = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="immutable"):
        blueprint.resources[0].requirements.size_gb = 1.0  # type: ignore[misc]
    assert Blueprint.model_validate_json(blueprint.model_dump_json()) == blueprint


def test_blueprint_hash_is_stable_across_builds() -> None:
    first, second = shop().blueprint(), shop().blueprint()
    assert first == second
    assert first.content_hash() == second.content_hash()
    assert len(first.content_hash()) == 64


SOURCE = """
from pydantic import BaseModel
from skaal import App, Collection, Index, Map, Module

class Cart(BaseModel):
    id: str
    owner: str
{pad}
app = App("moved", budget="$10/month")
billing = app.use(Module("billing"))
{pad}
@app.storage(read_latency="< 10ms", size="2GB")
class Carts(Collection[Cart]):
    by_owner = Index("owner")
{pad}
@billing.storage(collocate_with=Carts)
class Invoices(Map[str, int]): ...
"""


def build(pad: int, filename: str) -> Blueprint:
    namespace: dict[str, Any] = {"__name__": "moved_app"}
    code = compile(textwrap.dedent(SOURCE.format(pad="\n" * pad)), filename, "exec")
    exec(code, namespace)
    app = namespace["app"]
    assert isinstance(app, App)
    return app.blueprint()


def test_blueprint_hash_ignores_source_locations() -> None:
    near, far = build(0, "near.py"), build(25, "far.py")
    assert near.resource("Carts").location.line != far.resource("Carts").location.line
    assert near.resource("Carts").location.file == "near.py"
    assert near.content_hash() == far.content_hash()


def test_canonical_json_is_the_dump_without_locations_uses_and_serving() -> None:
    # the serialiser is told what to leave out; the text is what dumping
    # everything and removing those keys gives (a mount's interface and
    # threads say how it is served, not what is planned)
    blueprint = shop().blueprint()
    assert blueprint.mounts
    data = blueprint.model_dump(mode="json")
    data.pop("location")
    for res in data["resources"]:
        res.pop("location")
        res.pop("uses")
        if res["existing"] is None:  # only an adopting resource says what it adopts
            res.pop("existing")
    for mount in data["mounts"]:
        for key in ("location", "interface", "threads"):
            mount.pop(key)
    expected = json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert blueprint.canonical_json() == expected


def test_blueprint_hash_changes_with_a_constraint() -> None:
    base = build(0, "a.py")
    changed = base.model_copy(
        update={
            "resources": tuple(
                r.model_copy(update={"requirements": Requirements(size_gb=3.0)})
                for r in base.resources
            )
        }
    )
    assert base.content_hash() != changed.content_hash()


def test_resources_declared_in_functions_use_their_plain_name() -> None:
    factories: list[Callable[[], None]] = []
    app = App("demo")

    def declare() -> None:
        @app.storage()
        class Carts(Map[str, int]): ...

    factories.append(declare)
    factories[0]()
    spec = app.blueprint().resources[0]
    assert spec.name == "Carts"
    assert spec.python_ref is not None
    assert spec.python_ref.endswith("declare.<locals>.Carts")
