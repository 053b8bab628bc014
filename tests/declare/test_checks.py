"""Plan-time checks: what would fail on every request fails ``check_app`` instead."""

from __future__ import annotations

import inspect
import types
from typing import Any

import pytest
from pydantic import BaseModel

from skaal import App, Map, Module, Queue
from skaal.declare.checks import check_app
from skaal.errors import DeclarationError

HERE = __file__


def _line(fn: object, text: str) -> int:
    """The line of ``fn``'s source holding ``text``."""
    lines, start = inspect.getsourcelines(fn)  # type: ignore[arg-type]
    return start + next(i for i, line in enumerate(lines) if text in line)


class Item(BaseModel):
    sku: str
    count: int


class Opaque:
    """A class pydantic cannot validate."""


def test_a_well_declared_app_passes() -> None:
    app = App("ok")

    @app.storage()
    class Items(Map[str, Item]): ...

    @app.function()
    async def put(sku: str, count: int = 1, *, note: str | None = None) -> Item:
        item = Item(sku=sku, count=count)
        await Items.set(sku, item)
        return item

    @app.function()
    async def anything(value: Any) -> Any:
        return value

    check_app(app)


def test_an_unannotated_parameter_names_its_line() -> None:
    app = App("bad")

    @app.function()
    async def add(
        a,  # type: ignore[no-untyped-def]
        b: int,
    ) -> int:
        return int(a) + b

    with pytest.raises(DeclarationError) as info:
        check_app(app)
    assert info.value.what == "parameter 'a' of function add has no type annotation"
    assert info.value.where == f"{HERE}:{_line(add, 'a,  # type')}"
    assert info.value.fix is not None
    assert "a: Any accepts any JSON value" in info.value.fix
    assert info.value.exit_code == 2


def test_a_missing_return_annotation_names_the_def() -> None:
    app = App("bad")

    @app.function()
    async def hello(name: str):  # type: ignore[no-untyped-def]
        return f"hi {name}"

    with pytest.raises(DeclarationError) as info:
        check_app(app)
    assert info.value.what == "function hello has no return annotation"
    assert info.value.where == f"{HERE}:{_line(hello, 'async def hello')}"


def test_a_type_pydantic_cannot_validate_is_refused() -> None:
    app = App("bad")

    @app.function()
    async def take(thing: Opaque) -> str:
        return "x"

    with pytest.raises(DeclarationError, match="parameter 'thing' of function take has a type"):
        check_app(app)


def test_a_result_that_cannot_be_json_is_refused() -> None:
    app = App("bad")

    @app.function()
    async def make() -> Opaque:
        return Opaque()

    with pytest.raises(DeclarationError, match="function make returns a type that cannot be"):
        check_app(app)


def test_variadic_parameters_are_refused() -> None:
    app = App("bad")

    @app.function()
    async def many(*names: str) -> int:
        return len(names)

    with pytest.raises(DeclarationError, match="cannot come from a JSON object"):
        check_app(app)


def test_unresolvable_hints_are_refused() -> None:
    app = App("bad")

    @app.function()
    async def later(x: Missing) -> int:  # type: ignore[name-defined]  # noqa: F821
        return 1

    with pytest.raises(DeclarationError, match="type hints of function later do not resolve"):
        check_app(app)


def test_functions_not_served_over_http_may_take_anything() -> None:
    app = App("ok")

    @app.queue()
    class Jobs(Queue[Item]): ...

    @app.function(http=False)
    async def internal(handle, *rest):  # type: ignore[no-untyped-def]
        return None

    @app.consumer(Jobs)
    async def work(message):  # type: ignore[no-untyped-def]
        return None

    check_app(app)


def test_an_undeclared_resource_names_the_line_that_uses_it() -> None:
    app = App("demo")

    class Loose(Map[str, int]): ...  # no @app.storage

    @app.function()
    async def read(key: str) -> int | None:
        return await Loose.get(key)

    with pytest.raises(DeclarationError) as info:
        check_app(app)
    assert info.value.what == "function read uses Loose, a map that app 'demo' does not declare"
    assert info.value.where == f"{HERE}:{_line(read, 'await Loose.get')}"
    assert info.value.fix == (
        f"put @app.storage(...) above class Loose ({HERE}:{_line(Loose, 'class Loose')}) "
        "(or on a Module the app uses)"
    )


def test_undeclared_resources_are_found_through_modules_helpers_and_nesting() -> None:
    class Loose(Map[str, int]): ...

    models = types.ModuleType("models")
    models.Loose = Loose  # type: ignore[attr-defined]

    through_module = App("one")

    @through_module.function()
    async def read(key: str) -> int | None:
        return await models.Loose.get(key)  # type: ignore[no-any-return]

    nested = App("two")

    @nested.function()
    async def keys() -> list[int]:
        return [await Loose.get(k) or 0 for k in ("a", "b")]

    for app in (through_module, nested):
        with pytest.raises(DeclarationError, match="uses Loose, a map that app"):
            check_app(app)


def test_an_undeclared_resource_in_a_helper_of_the_module_is_found() -> None:
    app = App("demo")

    app.function()(_reads_through_a_helper)
    with pytest.raises(DeclarationError) as info:
        check_app(app)
    assert info.value.what == (
        "function _reads_through_a_helper uses _Orphan (in _helper, which it calls), "
        "a map that app 'demo' does not declare"
    )
    assert info.value.where == f"{HERE}:{_line(_helper, '_Orphan.get')}"


def test_resources_declared_on_a_used_module_are_declared() -> None:
    app = App("ok")
    billing = app.use(Module("billing"))

    @billing.storage()
    class Invoices(Map[str, int]): ...

    @app.function()
    async def total(key: str) -> int:
        return await Invoices.get(key) or 0

    check_app(app)


def test_a_module_the_app_does_not_use_does_not_declare_for_it() -> None:
    app = App("demo")
    stray = Module("stray")

    @stray.storage()
    class Invoices(Map[str, int]): ...

    @app.function()
    async def total(key: str) -> int:
        return await Invoices.get(key) or 0

    with pytest.raises(DeclarationError, match="uses Invoices, a map that app 'demo'"):
        check_app(app)


class _Orphan(Map[str, int]): ...


async def _helper(key: str) -> int | None:
    return await _Orphan.get(key)


async def _reads_through_a_helper(key: str) -> int | None:
    return await _helper(key)
