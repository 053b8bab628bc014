"""Workload defaults and the pricing model, checked against hand computation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Cron, Map, Queue, Topic
from skaal.blueprint.model import Kind, ResourceSpec
from skaal.catalog.loader import load_catalog
from skaal.catalog.model import Backend
from skaal.model.grammar import Consistency
from skaal.plan.model import CostLine
from skaal.solver.cost import (
    SECONDS_PER_MONTH,
    cost_lines,
    option_cost,
    provisioned,
    served_consistency,
    workload,
)
from skaal.solver.problem import Problem, Workload
from skaal.testing import backend, mode

MONTH_MILLIONS = 2.628  # 2,628,000 seconds in a 730-hour month, in millions


class Doc(BaseModel):
    id: str


def spec_of(app: App, name: str) -> ResourceSpec:
    return app.blueprint().resource(name)


def declared_app() -> App:
    app = App("shop")

    @app.storage()
    class Carts(Map[str, str]): ...

    @app.storage(size="20GB", reads="300/s", writes="5/min")
    class Orders(Collection[Doc]): ...

    @app.blob()
    class Uploads(BlobStore): ...

    @app.queue(messages="10/s")
    class Jobs(Queue[str]): ...

    @app.topic()
    class Events(Topic[str]): ...

    @app.function(memory="1GB", timeout="50ms", invocations="2/s")
    def fast() -> str:
        return ""

    @app.function()
    def default() -> str:
        return ""

    return app


def test_the_month_has_730_hours() -> None:
    assert SECONDS_PER_MONTH == 2_628_000


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Carts", Workload(1.0, 1.0, 1.0, 0.0, 0.0, ("size", "reads", "writes"))),
        ("Orders", Workload(20.0, 300.0, 5 / 60, 0.0, 0.0, ())),
        ("Uploads", Workload(10.0, 1.0, 1.0, 0.0, 0.0, ("size", "reads", "writes"))),
        # A queue message is sent (1 write), then received and deleted (2 reads), and
        # delivered once (the receive).
        ("Jobs", Workload(0.0, 20.0, 10.0, 0.0, 0.0, (), deliveries_per_s=10.0)),
        # A topic message is published once and delivered once.
        ("Events", Workload(0.0, 1.0, 1.0, 0.0, 0.0, ("messages",), deliveries_per_s=1.0)),
        # The mean duration is capped by a shorter timeout; a function writes logs and an
        # HTTP one is called through the API in front of it.
        ("fast", Workload(0.0, 2.0, 0.0, 1.0, 0.05, ("duration",), http=True, logs=True)),
        (
            "default",
            Workload(
                0.0, 1.0, 0.0, 0.5, 0.1, ("invocations", "memory", "duration"), http=True, logs=True
            ),
        ),
    ],
)
def test_workload_defaults(name: str, expected: Workload) -> None:
    assert workload(spec_of(declared_app(), name)) == expected


def test_a_secret_has_no_workload() -> None:
    app = App("shop")
    app.secret("API_KEY")
    assert workload(spec_of(app, "API_KEY")) == Workload(0.0, 0.0, 0.0, 0.0, 0.0, ())


def test_data_cost_by_hand() -> None:
    dynamodb = backend(
        "dynamodb", per_gb_month=0.25, per_million_reads=0.125, per_million_writes=0.625
    )
    load = Workload(20.0, 300.0, 5.0, 0.0, 0.0, ())
    cost, lines = option_cost(dynamodb, load, "map")
    # 300 reads/s * 2.628 M s = 788.4 M reads; 5 writes/s -> 13.14 M writes.
    assert lines == (
        CostLine(component="per_gb_month", quantity=20.0, monthly=5.0),
        CostLine(component="per_million_reads", quantity=788.4, monthly=98.55),
        CostLine(component="per_million_writes", quantity=13.14, monthly=8.2125),
    )
    assert cost == pytest.approx(5.0 + 98.55 + 8.2125, abs=1e-9)


def test_queue_requests_count_send_receive_and_delete(
    problem_of: Callable[..., Problem],
) -> None:
    app = App("shop")

    @app.queue(messages="10/s")
    class Jobs(Queue[str]): ...

    sqs = backend("sqs", kinds=("queue",), per_million_requests=0.4)
    (res,) = problem_of(app, sqs).resources
    (option,) = res.options
    # 10 messages/s * 3 requests * 2.628 M s/month = 78.84 M requests at $0.40.
    assert cost_lines(sqs, res.workload) == (
        CostLine(component="per_million_requests", quantity=78.84, monthly=31.536),
    )
    assert option.cost == 31.536


def test_a_backend_billing_deliveries_bills_one_a_message_not_the_delete(
    problem_of: Callable[..., Problem],
) -> None:
    # Pub/Sub bills a publish and a delivery (a pull) per message; acknowledging is free.
    app = App("shop")

    @app.queue(messages="1000/s")
    class Jobs(Queue[str]): ...

    @app.topic(messages="1000/s")
    class Events(Topic[str]): ...

    pubsub = load_catalog("gcp").backend("pubsub")
    problem = problem_of(app, pubsub, provider="gcp")
    month = 1000 * MONTH_MILLIONS  # 2,628 million messages
    for res in problem.resources:
        assert cost_lines(pubsub, res.workload) == (
            CostLine(component="per_million_writes", quantity=month, monthly=95.6592),
            CostLine(component="per_million_deliveries", quantity=month, monthly=95.6592),
        ), res.spec.name
        assert res.options[0].cost == round(2 * 95.6592, 6)


def test_function_compute_by_hand() -> None:
    fn = backend(
        "lambda", kinds=("function",), per_million_requests=0.2, per_gb_second=0.0000166667
    )
    load = Workload(0.0, 2.0, 0.0, 1.0, 0.1, ())
    cost, lines = option_cost(fn, load, "function")
    gb_seconds = 1.0 * 2.0 * 0.1 * 2_628_000  # 525,600 GB-s
    assert [line.quantity for line in lines] == [5.256, gb_seconds]
    assert [line.monthly for line in lines] == [1.0512, round(gb_seconds * 0.0000166667, 6)]
    assert cost == round(1.0512 + 8.760018, 6)


def test_a_dedicated_backend_pays_its_fixed_fee_a_shared_one_does_not() -> None:
    load = Workload(1.0, 0.0, 0.0, 0.0, 0.0, ())
    rds = backend("rds", fixed_monthly=12.5, per_gb_month=0.1)
    redis = backend("redis", fixed_monthly=12.5, per_gb_month=0.1, shared={"size_gb": 5.0})
    assert option_cost(rds, load, "map") == (
        12.6,
        (
            CostLine(component="fixed_monthly", quantity=1.0, monthly=12.5),
            CostLine(component="per_gb_month", quantity=1.0, monthly=0.1),
        ),
    )
    assert option_cost(redis, load, "map") == (
        0.1,
        (CostLine(component="per_gb_month", quantity=1.0, monthly=0.1),),
    )


def test_unpriced_and_zero_components_make_no_line() -> None:
    kv = backend("kv", per_million_writes=1.0, per_gb_second=3.0)
    assert option_cost(kv, Workload(5.0, 1.0, 0.0, 0.0, 0.0, ()), "map") == (0.0, ())


def test_costs_are_rounded_to_a_millionth() -> None:
    kv = backend("kv", per_gb_month=1 / 3)
    cost, (line,) = option_cost(kv, Workload(1.0, 0.0, 0.0, 0.0, 0.0, ()), "map")
    assert cost == line.monthly == 0.333333


def test_option_costs_in_the_problem_match_option_cost(
    problem_of: Callable[..., Problem],
) -> None:
    app = declared_app()
    kv = backend("kv", kinds=("map", "collection"), per_gb_month=0.2, per_million_reads=0.3)
    problem = problem_of(app, kv)
    for res in problem.resources:
        for option in res.options:
            assert (option.cost, cost_lines(kv, res.workload)) == option_cost(
                kv, res.workload, res.spec.kind
            )
    carts = next(r for r in problem.resources if r.spec.name == "Carts")
    assert carts.options[0].cost == round(0.2 + 0.3 * MONTH_MILLIONS, 6)


# -- consistency ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "declared", "offered", "served"),
    [
        ("map", None, ("eventual", "strong"), "strong"),  # undeclared: strong, as always
        ("map", "eventual", ("eventual", "strong"), "eventual"),
        ("collection", "strong", ("eventual", "strong"), "strong"),
        ("map", "eventual", ("strong",), "strong"),  # strong satisfies eventual
        ("map", None, ("eventual",), "eventual"),  # nothing stronger on offer
        ("collection", "eventual", ("eventual",), "eventual"),
        ("queue", "eventual", ("eventual", "strong"), None),  # no read consistency
        ("blob", None, ("strong",), None),
    ],
)
def test_the_served_consistency(
    kind: Kind, declared: Consistency | None, offered: tuple[Consistency, ...], served: str | None
) -> None:
    assert served_consistency(kind, declared, offered) == served


def _modes_backend(**extra: object) -> Backend:
    return backend(
        "ddb",
        kinds=("map", "collection", "queue"),
        modes=(
            mode("on-demand", per_gb_month=0.25, per_million_reads=0.125, eventual_reads=0.5),
            mode(
                "provisioned",
                target_utilisation=0.7,
                per_read_per_s_month=0.0949,
                per_write_per_s_month=0.4745,
                eventual_reads=0.5,
            ),
        ),
        **extra,  # type: ignore[arg-type]
    )


def test_eventual_reads_count_half_a_unit_in_each_mode_by_hand() -> None:
    ddb = _modes_backend()
    load = Workload(2.0, 10.0, 1.0, 0.0, 0.0, ())
    # on demand: 10 reads/s x 2.628 = 26.28 M reads x 0.5 = 13.14 M read units x $0.125
    assert cost_lines(ddb, load, "on-demand", consistency="eventual") == (
        CostLine(component="per_gb_month", quantity=2.0, monthly=0.5),
        CostLine(component="eventual per_million_reads", quantity=13.14, monthly=1.6425),
    )
    assert cost_lines(ddb, load, "on-demand", consistency="strong") == (
        CostLine(component="per_gb_month", quantity=2.0, monthly=0.5),
        CostLine(component="per_million_reads", quantity=26.28, monthly=3.285),
    )
    # provisioned: ceil(10 x 0.5 / 0.7) = 8 RCU (strong: ceil(10 / 0.7) = 15); writes unchanged
    assert cost_lines(ddb, load, "provisioned", consistency="eventual") == (
        CostLine(component="eventual per_read_per_s_month", quantity=8.0, monthly=0.7592),
        CostLine(component="per_write_per_s_month", quantity=2.0, monthly=0.949),
    )
    assert cost_lines(ddb, load, "provisioned")[0] == CostLine(
        component="per_read_per_s_month", quantity=15.0, monthly=1.4235
    )
    eventual = provisioned(ddb, "provisioned", load, consistency="eventual")
    assert eventual is not None
    assert (eventual.reads_per_s, eventual.writes_per_s) == (8, 2)
    strong = provisioned(ddb, "provisioned", load)
    assert strong is not None
    assert strong.reads_per_s == 15
    # the cheaper mode, at the served consistency: declared eventual, 0.7592 + 0.949
    assert option_cost(ddb, load, "map", "eventual")[0] == round(0.7592 + 0.949, 6)
    assert option_cost(ddb, load, "map")[0] == round(1.4235 + 0.949, 6)
    # a queue has no read consistency: its reads are never discounted
    assert option_cost(ddb, load, "queue", "eventual") == option_cost(ddb, load, "queue")


def test_without_a_factor_eventual_reads_cost_the_same() -> None:
    kv = backend("kv", per_million_reads=0.3)
    load = Workload(0.0, 1.0, 0.0, 0.0, 0.0, ())
    assert cost_lines(kv, load, consistency="eventual") == cost_lines(kv, load)
    assert option_cost(kv, load, "map", "eventual") == option_cost(kv, load, "map")


def test_a_backend_offering_only_eventual_reads_prices_them_undeclared() -> None:
    kv = backend("kv", consistency=("eventual",), per_million_reads=0.2, eventual_reads=0.5)
    load = Workload(0.0, 1.0, 0.0, 0.0, 0.0, ())
    cost, (line,) = option_cost(kv, load, "map")
    assert line.component == "eventual per_million_reads"
    assert cost == round(0.2 * MONTH_MILLIONS * 0.5, 6)


def test_the_filter_prices_each_declared_consistency_apart(
    problem_of: Callable[..., Problem],
) -> None:
    # Equal workloads share a cost cache: the consistency must be part of its key.
    app = App("shop")

    @app.storage(reads="10/s", writes="1/s", size="2GB", consistency="eventual")
    class Views(Map[str, str]): ...

    @app.storage(reads="10/s", writes="1/s", size="2GB")
    class Carts(Map[str, str]): ...

    @app.storage(reads="10/s", writes="1/s", size="2GB", consistency="eventual")
    class Seen(Map[str, str]): ...

    problem = problem_of(app, _modes_backend())
    costs = {r.spec.name: (r.options[0].cost, r.options[0].mode) for r in problem.resources}
    assert costs == {
        "Views": (round(0.7592 + 0.949, 6), "provisioned"),
        "Seen": (round(0.7592 + 0.949, 6), "provisioned"),
        "Carts": (round(1.4235 + 0.949, 6), "provisioned"),
    }


# -- what the build creates around a resource ------------------------------------------------


def test_a_function_pays_for_its_logs_api_requests_and_scheduler() -> None:
    app = App("around")

    @app.function(invocations="1/s", memory="0.5GB")
    async def serve() -> None: ...

    @app.schedule(Cron("0 * * * *"))
    def hourly() -> None: ...

    aws, gcp = load_catalog("aws"), load_catalog("gcp")
    http = {
        c.component: (c.quantity, c.monthly)
        for c in cost_lines(aws.backend("lambda"), workload(spec_of(app, "serve")))
    }
    # 2.628 M invocations write 1,000 bytes each: 2.628 GB x $0.50, kept 30 days of a
    # 30.4167-day month: 2.592 GB x $0.03; each through the HTTP API at $1.00 a million
    assert http["log_ingestion_per_gb"] == (2.628, 1.314)
    assert http["log_storage_per_gb_month"] == (2.592, 0.07776)
    assert http["per_million_http_requests"] == (2.628, 2.628)
    assert "per_million_scheduled_runs" not in http
    runs = {
        c.component: c.quantity
        for c in cost_lines(aws.backend("lambda"), workload(spec_of(app, "hourly")))
    }
    # 8,760 runs in 2026, started by EventBridge Scheduler, not through the HTTP API
    assert runs["per_million_scheduled_runs"] == pytest.approx(8760 / 12 / 1e6, abs=1e-6)
    assert "per_million_http_requests" not in runs
    jobs = {
        c.component: c
        for c in cost_lines(gcp.backend("cloud-run"), workload(spec_of(app, "hourly")))
    }
    assert (jobs["per_scheduled_job_month"].quantity, jobs["per_scheduled_job_month"].monthly) == (
        1.0,
        0.1,
    )
    assert "log_storage_per_gb_month" not in jobs  # Cloud Logging keeps them 30 days for free


def test_point_in_time_recovery_is_paid_on_what_is_backed_up() -> None:
    app = App("backed")

    @app.storage(size="10GB")
    class Kept(Map[str, str]): ...

    @app.storage(size="10GB", durability="ephemeral")
    class Scratch(Map[str, str]): ...

    dynamodb = load_catalog("aws").backend("dynamodb")
    firestore = load_catalog("gcp").backend("firestore")

    def backup(store: Backend, name: str) -> CostLine | None:
        lines = cost_lines(
            store, workload(spec_of(app, name)), store.modes[0].name if store.modes else None
        )
        return next((c for c in lines if c.component == "backup_per_gb_month"), None)

    # a table is backed up on its own, unless ephemeral: 10 GB x $0.20
    assert backup(dynamodb, "Kept") == CostLine(
        component="backup_per_gb_month", quantity=10.0, monthly=2.0
    )
    assert backup(dynamodb, "Scratch") is None
    # Firestore's one database is backed up whole: every collection, 10 GB x $0.15
    assert backup(firestore, "Scratch") == CostLine(
        component="backup_per_gb_month", quantity=10.0, monthly=1.5
    )


def test_a_topic_retaining_messages_pays_for_storing_them() -> None:
    app = App("retained")

    @app.queue(messages="10/s", retention="3d")
    class Jobs(Queue[str]): ...

    @app.queue(messages="10/s")
    class Fleeting(Queue[str]): ...

    pubsub = load_catalog("gcp").backend("pubsub")
    sqs = load_catalog("aws").backend("sqs")
    kept = {
        c.component: (c.quantity, c.monthly)
        for c in cost_lines(pubsub, workload(spec_of(app, "Jobs")))
    }
    # 10 messages/s x 259,200 s of retention x 1,000 bytes = 2.592 GB x $0.27
    assert kept["message_storage_per_gb_month"] == (2.592, 0.69984)
    fleeting = cost_lines(pubsub, workload(spec_of(app, "Fleeting")))
    assert "message_storage_per_gb_month" not in {c.component for c in fleeting}
    # SQS keeps messages at no charge
    assert "message_storage_per_gb_month" not in {
        c.component for c in cost_lines(sqs, workload(spec_of(app, "Jobs")))
    }
