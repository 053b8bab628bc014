"""Decorator keywords: every constraint on every kind, and every way to get one wrong.

Each rejection must be a ``DeclarationError`` that names the class or function,
points at the decorator's ``file:line`` in this file, repeats the bad value and
says what is accepted.
"""

from __future__ import annotations

import inspect
import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel

from skaal import (
    App,
    BlobStore,
    Collection,
    DeclarationError,
    Every,
    Map,
    Queue,
    SkaalError,
    Topic,
)
from skaal.blueprint.model import Kind
from skaal.declare import constraints, introspect
from skaal.declare.constraints import CONSTRAINTS, UNSET

T = TypeVar("T")


class Cart(BaseModel):
    id: str
    owner: str


def lineno() -> int:
    """The line of the caller, to predict the file:line an error must show."""
    return sys._getframe(1).f_lineno


def fresh(kind: Kind) -> Any:
    """A new, undeclared class (or function) of ``kind``."""
    if kind == "map":

        class Things(Map[str, int]): ...

        return Things
    if kind == "collection":

        class Carts(Collection[Cart]): ...

        return Carts
    if kind == "blob":

        class Uploads(BlobStore): ...

        return Uploads
    if kind == "queue":

        class Jobs(Queue[str]): ...

        return Jobs
    if kind == "topic":

        class Events(Topic[str]): ...

        return Events

    def handler() -> str:
        return "ok"

    return handler


def decorator_for(app: App, kind: Kind) -> Callable[..., Callable[[Any], Any]]:
    decorators: dict[Kind, Callable[..., Callable[[Any], Any]]] = {
        "map": app.storage,
        "collection": app.storage,
        "blob": app.blob,
        "queue": app.queue,
        "topic": app.topic,
        "function": app.function,
    }
    return decorators[kind]


def rejected(kind: Kind, **values: object) -> str:
    """Declare a fresh ``kind`` with ``values``; return the error, checking its location."""
    app = App("demo")
    target = fresh(kind)
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        decorator_for(app, kind)(**values)(target)
    text = str(info.value)
    assert isinstance(info.value, SkaalError)
    assert f"{__file__}:{line}" in text
    assert target.__name__ in text
    return text


#: A valid value for every constraint keyword, with the field and value it records.
SAMPLES: dict[str, tuple[object, str, object]] = {
    "read_latency": ("< 10ms", "read_latency", {"value": 10.0, "strict": True}),
    "write_latency": ("<= 20ms", "write_latency", {"value": 20.0, "strict": False}),
    "durability": ("persistent", "durability", "persistent"),
    "size": ("20GB", "size_gb", 20.0),
    "reads": ("300/s", "reads_per_s", 300.0),
    "writes": ("60/min", "writes_per_s", 1.0),
    "messages": ("3.6k/h", "writes_per_s", 1.0),
    "invocations": ("10/s", "reads_per_s", 10.0),
    "consistency": ("strong", "consistency", "strong"),
    "availability": ("99.9%", "availability", 99.9),
    "residency": ("eu", "residency", "eu"),
    "ttl": ("30d", "ttl_s", 30 * 86400.0),
    "retention": ("7d", "retention_s", 7 * 86400.0),
    "access": ("prefix", "access", "prefix"),
    "ordered": (True, "ordered", True),
    "max_attempts": (5, "max_attempts", 5),
    "memory": ("512MB", "memory_gb", 0.512),
    "timeout": ("30s", "timeout_s", 30.0),
    "backend": ("dynamodb", "backend", "dynamodb"),
    "collocate_with": ("Other", "collocate_with", "Other"),
}

DECLARABLE: tuple[Kind, ...] = ("map", "collection", "blob", "queue", "topic", "function")
PAIRS = [(name, kind) for name in sorted(CONSTRAINTS) for kind in DECLARABLE]


def test_every_constraint_has_a_sample() -> None:
    assert sorted(SAMPLES) == sorted(CONSTRAINTS)


@pytest.mark.parametrize(("name", "kind"), [p for p in PAIRS if p[1] in CONSTRAINTS[p[0]].kinds])
def test_constraint_is_recorded_for_kinds_that_accept_it(name: str, kind: Kind) -> None:
    raw, field, recorded = SAMPLES[name]
    app = App("demo")
    target = fresh(kind)
    decorator_for(app, kind)(**{name: raw})(target)
    if name == "collocate_with":

        @app.storage()
        class Other(Map[str, int]): ...

    spec = app.blueprint().resource(target.__name__)
    declared = spec.requirements.model_dump(mode="json")
    assert declared[field] == recorded
    assert set(spec.requirements.declared()) == {field}


@pytest.mark.parametrize(
    ("name", "kind"), [p for p in PAIRS if p[1] not in CONSTRAINTS[p[0]].kinds]
)
def test_constraint_is_rejected_for_kinds_that_do_not_accept_it(name: str, kind: Kind) -> None:
    raw = SAMPLES[name][0]
    text = rejected(kind, **{name: raw})
    assert f"constraint {name!r} does not apply to a {kind}" in text
    accepted = sorted(n for n, c in CONSTRAINTS.items() if kind in c.kinds)
    assert f"a {kind} accepts: {', '.join(accepted)}" in text


@pytest.mark.parametrize(
    ("decorator", "kinds"),
    [
        ("storage", ("map", "collection")),
        ("blob", ("blob",)),
        ("queue", ("queue",)),
        ("topic", ("topic",)),
        ("function", ("function",)),
    ],
)
def test_decorator_keywords_match_the_constraint_table(
    decorator: str, kinds: tuple[Kind, ...]
) -> None:
    params = inspect.signature(getattr(App("demo"), decorator)).parameters
    keywords = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    keywords -= {"secrets", "http", "existing"}  # not constraints: what to run, what to adopt
    assert keywords == {n for n, c in CONSTRAINTS.items() if set(kinds) & c.kinds}
    assert all(params[n].default is UNSET for n in keywords)


def test_a_collection_can_expire_its_documents() -> None:
    app = App("demo")

    @app.storage(ttl="30d")
    class Sessions(Collection[Cart]): ...

    spec = app.blueprint().resource("Sessions")
    assert spec.kind == "collection"
    assert spec.requirements.ttl_s == 30 * 86400.0


def test_schedule_keywords_are_the_function_constraints_without_a_rate() -> None:
    params = inspect.signature(App("demo").schedule).parameters
    keywords = {n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    function = {n for n, c in CONSTRAINTS.items() if "function" in c.kinds}
    assert keywords - {"secrets"} == function - {"invocations"}


# -- bad values -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "values", "fragments"),
    [
        ("map", {"read_latency": "fast"}, ["'fast' is not a latency bound", "accepted: '< 10ms'"]),
        ("map", {"read_latency": "< 10 msec"}, ["'msec' (did you mean 'ms'?)", "units: us, ms"]),
        ("map", {"size": "20 gb"}, ["unknown size unit 'gb' (did you mean 'GB'?)", "TiB"]),
        ("map", {"size": 20}, ["size must be text, got 20 (int)", "accepted: '20GB'"]),
        ("map", {"reads": 300}, ["rate must be text, got 300 (int)", "'300/s'"]),
        ("map", {"writes": "5/m"}, ["did you mean 'min' or 'month'?", "'10/min'"]),
        ("map", {"durability": "durible"}, ["did you mean 'durable'?", "ephemeral | persistent"]),
        ("map", {"consistency": "strng"}, ["did you mean 'strong'?", "eventual | strong"]),
        ("map", {"availability": "99.9"}, ["'99.9' is not a percentage", "'99.9%'"]),
        ("map", {"residency": "mars"}, ["'mars' is neither a region", "us-east-1"]),
        ("map", {"ttl": "30 msec"}, ["did you mean 'ms'?", "'30d'"]),
        ("map", {"access": "random"}, ["unknown access pattern 'random'", "point | prefix"]),
        ("map", {"backend": "no such"}, ["'no such' is not a backend name", "'dynamodb'"]),
        ("map", {"collocate_with": 5}, ["5 is not a resource", "a declared resource class"]),
        ("queue", {"ordered": "yes"}, ["'yes' is not a boolean", "True | False"]),
        ("queue", {"max_attempts": 0}, ["0 is not a number of attempts", "1 to 1000"]),
        ("queue", {"max_attempts": True}, ["True is not a number of attempts", "1 to 1000"]),
        ("queue", {"retention": "forever"}, ["'forever' is not a duration", "'30d'"]),
        ("topic", {"messages": "lots"}, ["'lots' is not a rate", "'300/s'"]),
        ("function", {"memory": "512 mb"}, ["did you mean 'MB'?", "GiB"]),
        ("function", {"timeout": 30}, ["duration must be text, got 30 (int)", "'90s'"]),
        ("function", {"invocations": "10/sec/s"}, ["is not a rate", "'300/s'"]),
        ("blob", {"size": "0GB"}, ["'0GB' must be positive", "'20GB'"]),
    ],
)
def test_bad_values(kind: Kind, values: dict[str, object], fragments: list[str]) -> None:
    text = rejected(kind, **values)
    (name,) = values
    assert f"bad {CONSTRAINTS[name].meaning} for {name}" in text
    for fragment in fragments:
        assert fragment in text


@pytest.mark.parametrize("kind", DECLARABLE)
def test_explicit_none_is_not_a_value(kind: Kind) -> None:
    name = "availability"
    text = rejected(kind, **{name: None})
    assert "availability=None is not a value" in text
    assert "omit availability to leave the availability percentage undeclared" in text


@pytest.mark.parametrize(
    ("kind", "typo", "suggestion"),
    [
        ("map", "read_latncy", "read_latency"),
        ("collection", "consistancy", "consistency"),
        ("blob", "sizes", "size"),
        ("queue", "max_attempt", "max_attempts"),
        ("topic", "retension", "retention"),
        ("function", "timout", "timeout"),
    ],
)
def test_unknown_constraint_suggests_the_closest(kind: Kind, typo: str, suggestion: str) -> None:
    text = rejected(kind, **{typo: "x"})
    assert f"unknown constraint {typo}='x' (did you mean '{suggestion}'?)" in text
    assert "accepts: " in text


def test_unknown_constraint_without_close_match_lists_accepted() -> None:
    text = rejected("map", colour="blue")
    assert "unknown constraint colour='blue'" in text
    assert "did you mean" not in text
    assert "@app.storage accepts: access, availability, backend" in text


def test_error_names_the_decorator_and_class() -> None:
    text = rejected("blob", size="big")
    assert "(@app.blob on class Uploads)" in text


# -- wrong targets ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("decorator", "kind", "right"),
    [
        ("storage", "blob", "@app.blob(...) for a blob"),
        ("storage", "queue", "@app.queue(...) for a queue"),
        ("blob", "map", "@app.storage(...) for a map"),
        ("queue", "topic", "@app.topic(...) for a topic"),
        ("topic", "queue", "@app.queue(...) for a queue"),
        ("blob", "collection", "@app.storage(...) for a collection"),
    ],
)
def test_wrong_decorator_for_the_kind(decorator: str, kind: Kind, right: str) -> None:
    app = App("demo")
    target = fresh(kind)
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        getattr(app, decorator)()(target)
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert f"@app.{decorator} cannot declare {target.__name__}, a {kind}" in text
    assert right in text


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (int, "class int"),
        (Map, "class Map"),
        (Collection, "class Collection"),
        (5, "5 (a int)"),
        (len, "function len"),
    ],
)
def test_decorating_a_non_resource(target: object, shown: str) -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.storage(size="1GB")(target)  # type: ignore[type-var]
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert f"@app.storage decorates {shown}, which is not a Map, Collection" in text
    assert "class Carts(Map[str, Cart])" in text


def test_decorating_a_plain_class() -> None:
    app = App("demo")
    line = lineno() + 3
    with pytest.raises(DeclarationError) as info:

        @app.storage()  # type: ignore[type-var]
        class Plain: ...

    assert f"{__file__}:{line}: @app.storage decorates class Plain" in str(info.value)


def test_function_decorator_needs_a_callable() -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.function()("not a function")  # type: ignore[type-var]
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert "@app.function decorates 'not a function' (a str), which is not a function" in text


def test_schedule_rejects_invocations() -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as info:
        app.schedule(Every("1h"), invocations="1/s")  # type: ignore[call-arg]
    text = str(info.value)
    assert f"{__file__}:{line}" in text
    assert "@app.schedule does not take invocations=" in text


@pytest.mark.parametrize("decorator", ["storage", "blob", "queue", "topic", "function"])
def test_a_decorator_used_without_parentheses_says_so(decorator: str) -> None:
    app = App("demo")
    line = lineno() + 2
    with pytest.raises(DeclarationError) as caught:
        getattr(app, decorator)(Cart)
    assert str(caught.value) == (
        f"{__file__}:{line}: @app.{decorator} is used without parentheses on class Cart\n"
        f"  fix: write @app.{decorator}() (with parentheses, even without constraints)"
    )


# -- one parse per spelling ---------------------------------------------------


def test_the_same_text_keeps_its_meaning_per_constraint() -> None:
    # "1s" is a latency bound (1000 ms) and a duration (1 s): parsed results
    # are kept per parser, so neither reading leaks into the other
    app = App("shop")

    @app.storage(read_latency="1s", ttl="1s")
    class First(Map[str, int]): ...

    @app.storage(ttl="1s", read_latency="1s")
    class Second(Map[str, int]): ...

    for spec in app.blueprint().resources:
        assert spec.requirements.read_latency is not None
        assert spec.requirements.read_latency.value == 1000.0
        assert spec.requirements.ttl_s == 1.0


def test_a_bad_value_is_refused_every_time_it_is_written() -> None:
    app = App("shop")
    for _ in range(2):
        with pytest.raises(DeclarationError, match="bad stored size for size"):
            app.storage(size="12 parsecs")(type("Carts", (Map,), {}))


def test_parsed_values_are_kept_for_a_bounded_number_of_spellings() -> None:
    app = App("shop")
    count = constraints._PARSED_MAX + 10
    for i in range(count):
        app.storage(size=f"{i + 1}GB")(types.new_class(f"M{i}", (Map[str, int],)))
    sizes = [spec.requirements.size_gb for spec in app.blueprint().resources]
    assert sorted(sizes) == [float(i + 1) for i in range(count)]  # type: ignore[type-var]
    assert 0 < len(constraints._PARSED) <= constraints._PARSED_MAX


# -- kept records ------------------------------------------------------------------------
# Declarations that write the same keywords share one Requirements record, and
# classes over the same base alias share one reading of its types.  The tests
# below declare each app twice, the second time emptying both caches before
# every declaration, and require the same records, locations and hash.


class Order(BaseModel):
    id: str


def declare_mixed(app: App, *, fresh_caches: bool) -> None:
    """Every cached path and its fall-backs, each declaration written on one line."""
    profiles = [
        {"read_latency": "< 5ms", "durability": "durable"},
        {"read_latency": "< 20ms", "durability": "persistent", "size": "2GB"},
        {"durability": "durable", "read_latency": "< 5ms"},  # same keywords, other order
        {},
    ]
    for i in range(24):
        if fresh_caches:
            constraints._REQUIREMENTS.clear()
            constraints._PARSED.clear()
            introspect._BY_BASE.clear()
        profile = profiles[i % len(profiles)]
        base: Any = (Map[str, int], Map[str, Order], Queue[str], Collection[Order])[i % 4]
        if base is Queue[str]:
            app.queue(durability="durable", max_attempts=3)(types.new_class(f"R{i}", (base,)))
        else:
            app.storage(**profile)(types.new_class(f"R{i}", (base,)))

    @app.function(memory="512MB")
    def handler() -> str:
        return "ok"


def test_kept_records_give_what_building_each_gives() -> None:
    kept, built = App("shop"), App("shop")
    declare_mixed(kept, fresh_caches=False)
    declare_mixed(built, fresh_caches=True)
    first, second = kept.blueprint(), built.blueprint()
    assert first == second
    assert first.content_hash() == second.content_hash()
    assert [r.location for r in first.resources] == [r.location for r in second.resources]
    assert first.model_dump() == second.model_dump()


def test_the_same_keywords_share_one_record_per_kind() -> None:
    app = App("shop")
    for i in range(3):
        app.storage(read_latency="< 5ms")(types.new_class(f"M{i}", (Map[str, int],)))
    app.blob(read_latency="< 5ms")(types.new_class("B", (BlobStore,)))
    specs = app.blueprint().resources
    first, second, third = (app.blueprint().resource(f"M{i}") for i in range(3))
    assert first.requirements is second.requirements is third.requirements
    assert first.requirements == app.blueprint().resource("B").requirements
    assert len({id(s.requirements) for s in specs}) == 2  # the blob has its own
    assert first.key_type == "str"
    assert first.value_type == "int"


def test_booleans_and_numbers_are_never_confused() -> None:
    # True == 1, but only max_attempts=1 and ordered=True are values
    app = App("shop")
    app.queue(max_attempts=1, ordered=True)(types.new_class("A", (Queue[str],)))
    with pytest.raises(DeclarationError, match="True is not a number of attempts"):
        app.queue(max_attempts=True)(types.new_class("B", (Queue[str],)))
    with pytest.raises(DeclarationError, match="1 is not a boolean"):
        app.queue(ordered=1)(types.new_class("C", (Queue[str],)))


def test_a_refused_keyword_names_each_declaration_where_it_is() -> None:
    app = App("shop")
    texts = []
    for i in range(2):
        line = lineno() + 2
        with pytest.raises(DeclarationError) as info:
            app.storage(read_latency="fast")(types.new_class(f"M{i}", (Map[str, int],)))
        texts.append(str(info.value))
        assert f"{__file__}:{line}" in texts[-1]
        assert f"class M{i}" in texts[-1]
    assert texts[0].replace("M0", "M1") == texts[1]


def test_a_base_without_types_is_refused_every_time() -> None:
    app = App("shop")
    for i in range(2):
        with pytest.raises(DeclarationError, match="subclasses Map without key and value types"):
            app.storage()(types.new_class(f"M{i}", (Map,)))

    # a class over a generic subclass reads its types through that subclass,
    # once per alias: the same reading as with nothing kept
    class Keyed(Map[str, T]): ...

    shapes = (("Counts", Keyed[int]), ("Names", Keyed[str]), ("More", Keyed[int]))
    for name, base in shapes:
        app.storage()(types.new_class(name, (base,)))
    for name, base in shapes:
        introspect._BY_BASE.clear()
        alone = App("shop")
        alone.storage()(types.new_class(name, (base,)))
        expected = alone.blueprint().resource(name)
        spec = app.blueprint().resource(name)
        assert (spec.key_type, spec.value_type) == (expected.key_type, expected.value_type)


def test_kept_records_stay_bounded() -> None:
    app = App("shop")
    for i in range(constraints._REQUIREMENTS_MAX + 10):
        app.storage(size=f"{i + 1}GB")(types.new_class(f"M{i}", (Map[str, int],)))
    assert 0 < len(constraints._REQUIREMENTS) <= constraints._REQUIREMENTS_MAX
