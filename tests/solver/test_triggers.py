"""A queue or topic must be on a service that can start its consumer (Registry.triggers)."""

from __future__ import annotations

import random
import types
from collections.abc import Awaitable, Callable

import pytest

from skaal import App, Queue, Topic, UnsatisfiableError
from skaal.catalog import load_catalog
from skaal.solver import solve
from solver.oracle import audit, read_catalog, solve_exact


def _app(*, topic_rate: str = "3000/s", queue_pin: str | None = None) -> App:
    app = App("trig")

    @app.topic(messages=topic_rate)
    class Events(Topic[str]): ...

    @app.queue(**({"backend": queue_pin} if queue_pin else {}))
    class Jobs(Queue[str]): ...

    @app.subscriber(Events)
    async def on_event(event: str) -> None: ...

    @app.consumer(Jobs)
    async def on_job(job: str) -> None: ...

    return app


def test_on_aws_a_busy_subscribed_topic_stays_on_sns() -> None:
    plan = solve(_app().blueprint(), load_catalog("aws"))
    assert plan.binding("Events").implementation == "sns"
    assert plan.binding("Jobs").implementation == "sqs"


def test_the_same_topic_without_a_subscriber_goes_to_the_cheaper_cache() -> None:
    # the contrast that makes the rule visible: without a subscriber, Redis wins
    app = App("trig")

    @app.topic(messages="3000/s")
    class Events(Topic[str]): ...

    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.binding("Events").implementation == "redis"


def test_a_consumed_queue_pinned_to_a_server_is_explained() -> None:
    with pytest.raises(UnsatisfiableError) as caught:
        solve(_app(queue_pin="rds-postgres").blueprint(), load_catalog("aws"))
    text = caught.value.render()
    assert (
        "rds-postgres: trigger offers postgres, which cannot start on_job on lambda, "
        "asked sqs (what starts lambda)"
    ) in text
    assert 'backend="sqs"' in text


def test_consumers_that_poll_accept_any_queue() -> None:
    # on gcp the consumer runs in the Cloud Run service and polls what it is given
    plan = solve(_app(queue_pin="cloudsql-postgres").blueprint(), load_catalog("gcp"))
    assert plan.binding("Jobs").implementation == "postgres"


@pytest.mark.parametrize("catalog", ["aws", "gcp", "local"])
def test_the_oracle_states_the_rule_on_its_own_and_finds_the_same_optimum(catalog: str) -> None:
    # solver/oracle_rules.py writes the rule again (a Lambda is started by SQS or SNS
    # only; Cloud Run and local processes poll): its optimum is the planner's
    blueprint = _app().blueprint()
    plan = solve(blueprint, load_catalog(catalog))
    data = read_catalog(catalog)
    answer = solve_exact(blueprint, data)
    assert answer.status == "optimal"
    assert plan.total_monthly_cost == pytest.approx(answer.total, abs=0.01)
    assert {r: b for r, b in answer.backends.items() if r in ("Events", "Jobs")} == {
        r: plan.binding(r).backend for r in ("Events", "Jobs")
    }
    assert audit(plan, blueprint, data) == []


def test_the_oracle_refuses_a_subscribed_topic_that_cannot_start_its_lambda() -> None:
    blueprint = _app().blueprint()
    plan = solve(blueprint, load_catalog("aws"))
    at = next(i for i, b in enumerate(plan.bindings) if b.resource == "Events")
    moved = plan.bindings[at].model_copy(update={"backend": "elasticache-redis"})
    stale = plan.model_copy(
        update={"bindings": (*plan.bindings[:at], moved, *plan.bindings[at + 1 :])}
    )
    assert "Events: elasticache-redis does not serve it" in audit(
        stale, blueprint, read_catalog("aws")
    )
    # without its subscriber the same topic is the cheaper cache's, for both
    alone = App("trig")

    @alone.topic(messages="3000/s")
    class Events(Topic[str]): ...

    answer = solve_exact(alone.blueprint(), read_catalog("aws"))
    assert (
        answer.backends["Events"]
        == solve(alone.blueprint(), load_catalog("aws")).binding("Events").backend
    )
    assert answer.backends["Events"].startswith("elasticache-redis")


def _messaging(seed: int) -> App:
    """Queues and topics at random rates, some consumed or subscribed to."""
    rng = random.Random(f"triggers:{seed}")
    app = App(f"messaging{seed}")
    for i in range(rng.randint(2, 8)):
        kind = rng.choice(("queue", "topic"))
        rate = f"{rng.choice((0.1, 1, 30, 500, 3000, 20000))}/s"
        base = Queue[str] if kind == "queue" else Topic[str]
        declared = getattr(app, kind)(messages=rate)(types.new_class(f"S{i}", (base,)))
        for j in range(rng.choice((0, 0, 1, 2)) if kind == "topic" else rng.choice((0, 1))):
            trigger = app.subscriber if kind == "topic" else app.consumer
            trigger(declared)(_handler(f"on_s{i}_{j}"))
    return app


def _handler(name: str) -> Callable[[str], Awaitable[None]]:
    async def handle(message: str) -> None: ...

    handle.__name__ = handle.__qualname__ = name
    return handle


@pytest.mark.parametrize("seed", range(30))
def test_the_planner_and_the_oracle_agree_on_apps_with_triggers(seed: int) -> None:
    name = ("aws", "gcp", "local-servers")[seed % 3]
    blueprint = _messaging(seed).blueprint()
    data = read_catalog(name)
    answer = solve_exact(blueprint, data)
    plan = solve(blueprint, load_catalog(name))
    assert answer.status == "optimal"
    assert plan.total_monthly_cost == pytest.approx(answer.total, abs=0.01)
    assert audit(plan, blueprint, data) == []
