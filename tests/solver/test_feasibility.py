"""The feasibility filter: every rule rejects exactly when it should, with every reason."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest
from pydantic import BaseModel

from skaal import App, Collection, Cron, Index, Map, Queue, Topic
from skaal.blueprint.model import Kind
from skaal.errors import PlanError, UsageError
from skaal.registry import Implementation, Registry
from skaal.solver.problem import Problem
from skaal.testing import backend, catalog

Verdicts = Callable[..., dict[str, tuple[str, ...]]]


class Todo(BaseModel):
    id: str
    owner: str


def one_map(**constraints: object) -> App:
    app = App("shop")

    @app.storage(**constraints)  # type: ignore[arg-type]
    class Carts(Map[str, str]): ...

    return app


def only(problem: Problem, name: str = "Carts") -> tuple[str, ...]:
    """Names of the feasible backends of one resource, cheapest first."""
    (res,) = [r for r in problem.resources if r.spec.name == name]
    return tuple(o.backend for o in res.options)


# -- structural checks -------------------------------------------------------


def test_a_backend_of_another_kind_is_rejected_for_kind_alone(verdicts: Verdicts) -> None:
    result = verdicts(one_map(read_latency="< 1ms"), backend("sqs", kinds=("queue",)))
    assert result == {"sqs": ("kind",)}


def test_an_unregistered_implementation_is_rejected(problem_of: Callable[..., Problem]) -> None:
    kv = backend("kv", kinds=("map",), implementation="kv-store")
    problem = problem_of(one_map(), kv)
    rejection = problem.resources[0].rejections[0][1][0]
    assert rejection.constraint == "implementation"
    assert "kv-store" in rejection.offered
    assert rejection.relaxation is None
    registry = Registry.of([Implementation("kv-store", frozenset({"map"}), frozenset({"aws"}), "")])
    assert only(problem_of(one_map(), kv, registry=registry)) == ("kv",)


def test_an_implementation_for_another_provider_is_rejected(verdicts: Verdicts) -> None:
    result = verdicts(
        one_map(), backend("d", kinds=("map",), implementation="dynamodb"), provider="gcp"
    )
    assert result == {"d": ("implementation",)}


def test_every_failed_check_is_recorded_not_just_the_first(
    problem_of: Callable[..., Problem],
) -> None:
    app = one_map(
        read_latency="< 5ms",
        write_latency="< 5ms",
        durability="durable",
        consistency="strong",
        availability="99.99%",
        residency="eu",
        ttl="1d",
        access="prefix",
        size="10GB",
    )
    weak = backend(
        "weak",
        read_latency_ms=10,
        write_latency_ms=10,
        durability="persistent",
        consistency=("eventual",),
        availability=99.9,
        regions=("us-east-1",),
        limits={"max_size_gb": 1.0},
    )
    (res,) = problem_of(app, weak).resources
    ((name, rejections),) = res.rejections
    assert name == "weak"
    assert [r.constraint for r in rejections] == [
        "read_latency",
        "write_latency",
        "durability",
        "consistency",
        "availability",
        "residency",
        "ttl",
        "access",
        "size",
    ]
    assert all(r.backend == "weak" for r in rejections)


# -- performance -------------------------------------------------------------


@pytest.mark.parametrize(
    ("bound", "offered", "feasible"),
    [
        ("< 10ms", 10.0, False),
        ("<= 10ms", 10.0, True),
        ("10ms", 10.0, True),
        ("< 10ms", 9.99, True),
        ("<= 10ms", 10.01, False),
        ("< 1s", 999.0, True),
    ],
)
def test_read_latency_bound(verdicts: Verdicts, bound: str, offered: float, feasible: bool) -> None:
    result = verdicts(one_map(read_latency=bound), backend("kv", read_latency_ms=offered))
    assert result == {"kv": () if feasible else ("read_latency",)}


def test_latency_rejection_text_and_relaxation(problem_of: Callable[..., Problem]) -> None:
    problem = problem_of(one_map(read_latency="< 5ms"), backend("dynamodb", read_latency_ms=10))
    rejection = problem.resources[0].rejections[0][1][0]
    assert (rejection.asked, rejection.offered) == ("< 5 ms", "≤ 10 ms")
    assert rejection.relaxation == 'read_latency="<= 10ms"'
    assert str(rejection) == "read_latency: offers ≤ 10 ms, asked < 5 ms"


def test_a_backend_without_a_latency_figure_cannot_promise_one(
    problem_of: Callable[..., Problem],
) -> None:
    problem = problem_of(one_map(write_latency="< 50ms"), backend("kv"))
    rejection = problem.resources[0].rejections[0][1][0]
    assert (rejection.constraint, rejection.offered) == ("write_latency", "no published figure")
    assert only(problem_of(one_map(), backend("kv"))) == ("kv",)


@pytest.mark.parametrize(
    ("declared", "offered", "feasible"),
    [
        (None, "ephemeral", False),
        (None, "persistent", True),
        ("ephemeral", "ephemeral", True),
        ("persistent", "ephemeral", False),
        ("durable", "persistent", False),
        ("durable", "durable", True),
    ],
)
def test_durability_is_ordered_and_defaults_to_persistent(
    verdicts: Verdicts, declared: str | None, offered: str, feasible: bool
) -> None:
    app = one_map() if declared is None else one_map(durability=declared)
    result = verdicts(app, backend("kv", durability=offered))  # type: ignore[arg-type]
    assert result == {"kv": () if feasible else ("durability",)}


def test_the_durability_default_says_so_and_opting_out_is_the_fix(
    problem_of: Callable[..., Problem],
) -> None:
    app = App("shop")

    @app.queue()
    class Jobs(Queue[str]): ...

    problem = problem_of(app, backend("redis", kinds=("queue",), durability="ephemeral"))
    rejection = problem.resources[0].rejections[0][1][0]
    assert rejection.asked == "persistent (default)"
    assert rejection.relaxation == 'durability="ephemeral"'


def test_functions_have_no_durability(verdicts: Verdicts) -> None:
    app = App("shop")

    @app.function()
    def hello() -> str:
        return "hi"

    fn = backend("fn", kinds=("function",), durability="ephemeral", capabilities=("http",))
    assert verdicts(app, fn) == {"fn": ()}


@pytest.mark.parametrize(
    ("asked", "offered", "feasible"),
    [
        ("strong", ("eventual",), False),
        ("strong", ("eventual", "strong"), True),
        ("eventual", ("eventual",), True),
        ("eventual", ("strong",), True),
    ],
)
def test_consistency(
    verdicts: Verdicts, asked: str, offered: tuple[str, ...], feasible: bool
) -> None:
    result = verdicts(one_map(consistency=asked), backend("kv", consistency=offered))  # type: ignore[arg-type]
    assert result == {"kv": () if feasible else ("consistency",)}


@pytest.mark.parametrize(
    ("asked", "offered", "feasible"),
    [("99.9%", 99.9, True), ("99.95%", 99.9, False), ("99.9%", 99.99, True)],
)
def test_availability_is_at_least(
    verdicts: Verdicts, asked: str, offered: float, feasible: bool
) -> None:
    result = verdicts(one_map(availability=asked), backend("kv", availability=offered))
    assert result == {"kv": () if feasible else ("availability",)}


def test_a_residency_rejection_changes_the_catalog_not_the_declaration(
    problem_of: Callable[..., Problem],
) -> None:
    problem = problem_of(one_map(residency="eu"), backend("kv", regions=("us-east-1", "us-west-2")))
    rejection = problem.resources[0].rejections[0][1][0]
    assert rejection.constraint == "residency"
    assert rejection.offered == "regions us-east-1, us-west-2"
    assert rejection.relaxation is None  # data never moves out of a declared residency
    assert rejection.catalog_change == (
        "add a region in 'eu' (with its prices) to kv in a catalog that extends this one"
    )


@pytest.mark.parametrize(
    ("residency", "region"),
    [
        (None, "us-east-1"),  # the catalog's default region
        ("us", "us-east-1"),
        ("eu", "eu-west-1"),  # the first matching region in catalog order
        ("eu-central-1", "eu-central-1"),
    ],
)
def test_the_binding_region(
    problem_of: Callable[..., Problem], residency: str | None, region: str
) -> None:
    app = one_map() if residency is None else one_map(residency=residency)
    regions = ("eu-west-1", "us-east-1", "eu-central-1")
    (option,) = problem_of(app, backend("kv", regions=regions)).resources[0].options
    assert option.region == region


def test_a_local_target_does_not_check_availability_or_residency(
    problem_of: Callable[..., Problem],
) -> None:
    app = one_map(residency="eu", availability="99.999%")
    problem = problem_of(
        app, backend("memory", durability="persistent", availability=99.0), provider="local"
    )
    (option,) = problem.resources[0].options
    assert option.unchecked == ("availability", "residency")
    assert option.region == "local"
    plain = problem_of(one_map(), backend("memory"), provider="local")
    assert plain.resources[0].options[0].unchecked == ()


def test_a_cloud_target_records_nothing_unchecked(problem_of: Callable[..., Problem]) -> None:
    (option,) = problem_of(one_map(residency="us"), backend("kv")).resources[0].options
    assert option.unchecked == ()


# -- capabilities ------------------------------------------------------------


@pytest.mark.parametrize(
    ("capabilities", "max_ttl_s", "failed"),
    [
        ((), None, ("ttl",)),
        (("ttl",), None, ()),
        (("ttl",), 86400.0, ()),
        (("ttl",), 86399.0, ("ttl",)),
    ],
)
def test_ttl(
    verdicts: Verdicts,
    capabilities: tuple[str, ...],
    max_ttl_s: float | None,
    failed: tuple[str, ...],
) -> None:
    limits = {} if max_ttl_s is None else {"max_ttl_s": max_ttl_s}
    result = verdicts(one_map(ttl="1d"), backend("kv", capabilities=capabilities, limits=limits))
    assert result == {"kv": failed}


def test_ttl_limit_relaxation(problem_of: Callable[..., Problem]) -> None:
    kv = backend("kv", capabilities=("ttl",), limits={"max_ttl_s": 7 * 86400.0})
    rejection = problem_of(one_map(ttl="30d"), kv).resources[0].rejections[0][1][0]
    assert (rejection.asked, rejection.offered) == ("30d", "≤ 7d")
    assert rejection.relaxation == 'ttl="7d"'


def queue_app(**constraints: object) -> App:
    app = App("shop")

    @app.queue(**constraints)  # type: ignore[arg-type]
    class Jobs(Queue[str]): ...

    return app


@pytest.mark.parametrize(
    ("constraints", "capabilities", "limits", "failed"),
    [
        ({"retention": "14d"}, (), {"max_retention_s": 14 * 86400.0}, ()),
        ({"retention": "15d"}, (), {"max_retention_s": 14 * 86400.0}, ("retention",)),
        ({"ordered": True}, (), {}, ("ordered",)),
        ({"ordered": True}, ("fifo",), {}, ()),
        ({"ordered": False}, (), {}, ()),
        ({"max_attempts": 5}, (), {}, ("max_attempts",)),
        ({"max_attempts": 5}, ("dead_letter",), {}, ()),
        ({"messages": "100/s"}, (), {"max_writes_per_s": 100.0}, ()),
        ({"messages": "101/s"}, (), {"max_writes_per_s": 100.0}, ("messages",)),
    ],
)
def test_queue_rules(
    verdicts: Verdicts,
    constraints: dict[str, object],
    capabilities: tuple[str, ...],
    limits: dict[str, float],
    failed: tuple[str, ...],
) -> None:
    q = backend("q", kinds=("queue",), capabilities=capabilities, limits=limits)
    assert verdicts(queue_app(**constraints), q) == {"q": failed}


def test_prefix_access_needs_ordered_keys(verdicts: Verdicts) -> None:
    assert verdicts(one_map(access="prefix"), backend("kv")) == {"kv": ("access",)}
    assert verdicts(one_map(access="prefix"), backend("kv", capabilities=("ordered_keys",))) == {
        "kv": ()
    }
    assert verdicts(one_map(access="point"), backend("kv")) == {"kv": ()}


def test_collection_indexes_need_secondary_index(verdicts: Verdicts) -> None:
    app = App("todo")

    @app.storage()
    class Todos(Collection[Todo]):
        by_owner = Index("owner")

    plain = App("plain")

    @plain.storage()
    class Notes(Collection[Todo]): ...

    kinds: tuple[Kind, ...] = ("collection",)
    assert verdicts(app, backend("doc", kinds=kinds)) == {"doc": ("indexes",)}
    assert verdicts(app, backend("doc", kinds=kinds, capabilities=("secondary_index",))) == {
        "doc": ()
    }
    assert verdicts(plain, backend("doc", kinds=kinds)) == {"doc": ()}


def test_function_triggers(verdicts: Verdicts) -> None:
    web = App("web")

    @web.function()
    def page() -> str:
        return ""

    cron = App("cron")

    @cron.schedule(Cron("0 * * * *"))
    def nightly() -> None: ...

    bare = backend("fn", kinds=("function",))
    http = backend("fn", kinds=("function",), capabilities=("http",))
    sched = backend("fn", kinds=("function",), capabilities=("schedule",))
    assert verdicts(web, bare) == {"fn": ("http",)}
    assert verdicts(web, http) == {"fn": ()}
    assert verdicts(cron, bare) == {"fn": ("schedule",)}
    assert verdicts(cron, sched) == {"fn": ()}


def function_app(**constraints: object) -> App:
    app = App("fn")

    @app.function(**constraints)  # type: ignore[arg-type]
    def handler() -> str:
        return ""

    return app


@pytest.mark.parametrize(
    ("constraints", "limits", "failed"),
    [
        ({}, {"max_memory_gb": 0.5}, ()),  # the 0.5 GB default fits exactly
        ({}, {"max_memory_gb": 0.25}, ("memory",)),
        ({"memory": "2GB"}, {"max_memory_gb": 2.0}, ()),
        ({"timeout": "15m"}, {"max_timeout_s": 900.0}, ()),
        ({"timeout": "16m"}, {"max_timeout_s": 900.0}, ("timeout",)),
        ({"invocations": "1000/s"}, {"max_reads_per_s": 999.0}, ("invocations",)),
    ],
)
def test_function_limits(
    verdicts: Verdicts,
    constraints: dict[str, object],
    limits: dict[str, float],
    failed: tuple[str, ...],
) -> None:
    fn = backend("fn", kinds=("function",), capabilities=("http",), limits=limits)
    assert verdicts(function_app(**constraints), fn) == {"fn": failed}


# -- quantities --------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "max_size_gb", "feasible"),
    [("10GB", 10.0, True), ("10.5GB", 10.0, False), (None, 1.0, True), (None, 0.9, False)],
)
def test_size_limit_counts_the_default(
    verdicts: Verdicts, size: str | None, max_size_gb: float, feasible: bool
) -> None:
    app = one_map() if size is None else one_map(size=size)
    result = verdicts(app, backend("kv", limits={"max_size_gb": max_size_gb}))
    assert result == {"kv": () if feasible else ("size",)}


def test_rates_against_limits(verdicts: Verdicts) -> None:
    limited = backend("kv", limits={"max_reads_per_s": 100.0, "max_writes_per_s": 10.0})
    assert verdicts(one_map(reads="100/s", writes="10/s"), limited) == {"kv": ()}
    assert verdicts(one_map(reads="101/s", writes="11/s"), limited) == {"kv": ("reads", "writes")}


def test_one_resource_larger_than_a_shared_instance_is_rejected(
    problem_of: Callable[..., Problem],
) -> None:
    redis = backend("redis", fixed_monthly=15.0, shared={"size_gb": 0.5, "reads_per_s": 1000.0})
    problem = problem_of(one_map(size="1GB", reads="2000/s"), redis)
    rejections = problem.resources[0].rejections[0][1]
    assert [(r.constraint, r.offered) for r in rejections] == [
        ("size", "≤ 0.5 GB per instance of its largest class"),
        ("reads", "≤ 1000/s per instance of its largest class"),
    ]
    assert [r.relaxation for r in rejections] == ['size="0.5GB"', 'reads="1000/s"']
    assert only(problem_of(one_map(size="0.5GB"), redis)) == ("redis",)


def test_limit_and_capacity_share_the_tightest_relaxation(
    problem_of: Callable[..., Problem],
) -> None:
    redis = backend("redis", limits={"max_size_gb": 2.0}, shared={"size_gb": 0.5})
    rejections = problem_of(one_map(size="3GB"), redis).resources[0].rejections[0][1]
    assert [r.offered for r in rejections] == [
        "≤ 2 GB per resource",
        "≤ 0.5 GB per instance of its largest class",
    ]
    assert {r.relaxation for r in rejections} == {'size="0.5GB"'}


# -- pins --------------------------------------------------------------------


def test_a_declared_pin_rejects_every_other_backend(problem_of: Callable[..., Problem]) -> None:
    problem = problem_of(one_map(backend="b"), backend("a"), backend("b", per_gb_month=9.0))
    assert only(problem) == ("b",)
    ((name, (rejection,)),) = problem.resources[0].rejections
    assert (name, rejection.constraint, rejection.relaxation) == ("a", "pin", 'backend="a"')


def test_a_command_line_pin_overrides_the_declared_one(
    problem_of: Callable[..., Problem],
) -> None:
    problem = problem_of(one_map(backend="b"), backend("a"), backend("b"), pins={"Carts": "a"})
    assert only(problem) == ("a",)
    rejection = problem.resources[0].rejections[0][1][0]
    assert rejection.relaxation == "--pin Carts=b"


def test_a_pin_to_a_backend_the_catalog_lacks_is_a_plan_error(
    problem_of: Callable[..., Problem],
) -> None:
    app = one_map(backend="dynamodbb")
    location = app.blueprint().resource("Carts").location
    with pytest.raises(PlanError) as caught:
        problem_of(app, backend("dynamodb"), backend("redis"))
    message = str(caught.value)
    assert "Carts" in message
    assert str(location) in message
    assert "'aws'" in message
    assert "did you mean 'dynamodb'?" in message


def test_a_command_line_pin_to_an_unknown_backend_is_a_plan_error(
    problem_of: Callable[..., Problem],
) -> None:
    with pytest.raises(PlanError, match="--pin"):
        problem_of(one_map(), backend("a"), pins={"Carts": "zzz"})


def test_a_pin_for_an_undeclared_resource_is_a_usage_error(
    problem_of: Callable[..., Problem],
) -> None:
    with pytest.raises(UsageError, match="did you mean 'Carts'"):
        problem_of(one_map(), backend("a"), pins={"Cart": "a"})


# -- the Problem as a whole --------------------------------------------------


def test_options_are_sorted_by_cost_then_catalog_order(
    problem_of: Callable[..., Problem],
) -> None:
    problem = problem_of(
        one_map(),
        backend("dear", per_gb_month=2.0),
        backend("free-b"),
        backend("free-a"),
        backend("cheap", per_gb_month=0.5),
    )
    assert only(problem) == ("free-b", "free-a", "cheap", "dear")
    assert [o.rank for o in problem.resources[0].options] == [1, 2, 3, 0]


def test_identical_declarations_get_their_own_spec(problem_of: Callable[..., Problem]) -> None:
    app = App("shop")

    @app.storage(read_latency="< 5ms")
    class A(Map[str, str]): ...

    @app.storage(read_latency="< 5ms")
    class B(Map[str, str]): ...

    problem = problem_of(app, backend("kv", read_latency_ms=1), backend("slow", read_latency_ms=9))
    assert [r.spec.name for r in problem.resources] == ["A", "B"]
    assert problem.resources[0].options == problem.resources[1].options
    assert problem.resources[0].spec.location != problem.resources[1].spec.location


def test_shared_backends_collocations_and_global_limits(
    problem_of: Callable[..., Problem],
) -> None:
    app = App("shop", budget="$50/month", max_backends=2)

    @app.storage()
    class Carts(Map[str, str]): ...

    @app.storage(collocate_with=Carts)
    class Sessions(Map[str, str]): ...

    @app.topic()
    class Events(Topic[str]): ...

    redis = backend("redis", fixed_monthly=15.0, shared={"size_gb": 5.0})
    unused = backend("memcached", fixed_monthly=9.0, shared={"size_gb": 5.0}, kinds=("blob",))
    problem = problem_of(app, redis, unused, backend("sns", kinds=("topic",)))
    assert [(s.backend.name, s.server.shapes[0].fee) for s in problem.shared] == [("redis", 15.0)]
    assert problem.collocations == (("Sessions", "Carts"),)
    assert (problem.budget_usd_month, problem.max_backends) == (50.0, 2)
    # A shared backend's option excludes its fixed fee.
    assert problem.resources[0].options[0].cost == 0.0


def test_the_same_inputs_give_an_equal_problem(problem_of: Callable[..., Problem]) -> None:
    app = one_map(read_latency="< 20ms", size="3GB")
    backends = (
        backend("a", read_latency_ms=10, per_gb_month=0.3, per_million_reads=0.2),
        backend("b", read_latency_ms=30),
        backend("c", read_latency_ms=5, fixed_monthly=7.0),
    )
    assert problem_of(app, *backends) == problem_of(app, *backends)


@pytest.mark.parametrize("enabled", [True, False])
def test_the_filter_leaves_the_garbage_collector_as_it_found_it(
    problem_of: Callable[..., Problem], enabled: bool
) -> None:
    was = gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        if not enabled:
            gc.disable()
        problem_of(one_map(), backend("kv"))
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == frozen
    finally:
        if was:
            gc.enable()


def test_the_feasibility_catalog_builder_fills_in_implementations() -> None:
    cat = catalog(
        provider="aws",
        backends=[backend("kv", kinds=("map", "collection")), backend("sqs", kinds=("queue",))],
    )
    assert [b.implementation for b in cat.backends] == ["dynamodb", "sqs"]
    assert cat.backends[0].regions == ("us-east-1",)
    assert cat.backends[0].price.region == "us-east-1"
    with pytest.raises(ValueError, match="implementation="):
        catalog(provider="local", backends=[backend("x", kinds=("function", "blob"))])
