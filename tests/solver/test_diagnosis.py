"""Unsatisfiability diagnosis: every infeasible resource, the cheapest fix, readable text."""

from __future__ import annotations

import ast
from collections.abc import Callable

import pytest

from skaal import App, Map, Queue
from skaal.blueprint.model import SourceLocation
from skaal.errors import UnsatisfiableError, UsageError
from skaal.solver.cost import cost_lines, money
from skaal.solver.diagnosis import (
    Diagnosis,
    Fix,
    GlobalConflict,
    diagnose_resources,
    explain,
    format_diagnosis,
    unsatisfiable,
)
from skaal.solver.problem import Problem
from skaal.testing import backend

Planner = Callable[..., Problem]


def one_map(**constraints: object) -> App:
    app = App("shop")

    @app.storage(**constraints)  # type: ignore[arg-type]
    class Carts(Map[str, str]): ...

    return app


DYNAMODB = backend(
    "dynamodb",
    kinds=("map", "collection"),
    read_latency_ms=10,
    per_gb_month=0.25,
    per_million_reads=0.125,
    per_million_writes=0.625,
)
REDIS = backend(
    "redis",
    kinds=("map", "queue"),
    read_latency_ms=1,
    durability="ephemeral",
    fixed_monthly=12.0,
    shared={"size_gb": 0.5},
)
SQS = backend("sqs", kinds=("queue",), per_million_requests=0.4)


def test_no_diagnosis_when_every_resource_has_an_option(problem_of: Planner) -> None:
    assert diagnose_resources(problem_of(one_map(), DYNAMODB)) is None


def test_every_infeasible_resource_is_reported_at_once(problem_of: Planner) -> None:
    app = App("shop")

    @app.storage(read_latency="< 5ms", size="2GB")
    class Carts(Map[str, str]): ...

    @app.storage()
    class Fine(Map[str, str]): ...

    @app.storage(residency="eu")
    class Sessions(Map[str, str]): ...

    problem = problem_of(app, DYNAMODB, REDIS, SQS)
    diagnosis = diagnose_resources(problem)
    assert diagnosis is not None
    assert [r.resource for r in diagnosis.resources] == ["Carts", "Sessions"]
    blueprint = app.blueprint()
    for res in diagnosis.resources:
        assert res.location == blueprint.resource(res.resource).location
    text = format_diagnosis(diagnosis)
    for name in ("Carts", "Sessions"):
        where = blueprint.resource(name).location
        assert f"{name} ({where}): no backend meets every constraint" in text
    assert "  dynamodb: read_latency offers ≤ 10 ms, asked < 5 ms" in text
    assert "(1 other backend does not serve a map: sqs)" in text
    # 2 GB at $0.25 + 2.628 M reads at $0.125 + 2.628 M writes at $0.625 = $2.471
    assert 'cheapest fix: read_latency="<= 10ms" → dynamodb at $2.47/month' in text


def test_the_cheapest_single_relaxation_wins_over_catalog_order(problem_of: Planner) -> None:
    dear = backend("dear", read_latency_ms=10, per_gb_month=5.0)
    cheap = backend("cheap", read_latency_ms=20, per_gb_month=1.0)
    two_away = backend("two-away", read_latency_ms=6, durability="ephemeral")
    diagnosis = diagnose_resources(problem_of(one_map(read_latency="< 5ms"), dear, two_away, cheap))
    assert diagnosis is not None
    assert diagnosis.resources[0].fix == Fix("cheap", ('read_latency="<= 20ms"',), 1.0)


def test_a_single_relaxation_beats_a_cheaper_double_one(problem_of: Planner) -> None:
    single = backend("single", read_latency_ms=10, per_gb_month=5.0)
    double = backend("double", read_latency_ms=10, durability="ephemeral")
    diagnosis = diagnose_resources(problem_of(one_map(read_latency="< 5ms"), double, single))
    assert diagnosis is not None
    fix = diagnosis.resources[0].fix
    assert fix is not None
    assert (fix.backend, fix.relaxations) == ("single", ('read_latency="<= 10ms"',))


def test_without_a_single_fix_the_fewest_relaxations_are_listed(problem_of: Planner) -> None:
    three = backend("three", read_latency_ms=10, durability="ephemeral", availability=99.0)
    two = backend("two", read_latency_ms=10, durability="ephemeral", per_gb_month=3.0)
    app = one_map(read_latency="< 5ms", availability="99.9%")
    diagnosis = diagnose_resources(problem_of(app, three, two))
    assert diagnosis is not None
    fix = diagnosis.resources[0].fix
    assert fix == Fix("two", ('read_latency="<= 10ms"', 'durability="ephemeral"'), 3.0)
    assert "smallest fix: " in format_diagnosis(diagnosis)


def test_a_backend_with_a_structural_failure_is_never_the_fix(problem_of: Planner) -> None:
    no_index = backend("other", kinds=("queue",))
    impossible = backend("impl", implementation="nothing", read_latency_ms=10)
    diagnosis = diagnose_resources(problem_of(one_map(read_latency="< 5ms"), no_index, impossible))
    assert diagnosis is not None
    assert diagnosis.resources[0].fix is None
    text = format_diagnosis(diagnosis)
    assert "no declaration change makes any backend of this catalog fit" in text


def test_no_backend_of_the_kind(problem_of: Planner) -> None:
    app = App("shop")

    @app.queue()
    class Jobs(Queue[str]): ...

    diagnosis = diagnose_resources(problem_of(app, DYNAMODB))
    assert diagnosis is not None
    assert "no backend of catalog 'aws' serves a queue" in format_diagnosis(diagnosis)


def test_a_relaxed_size_is_priced_at_the_relaxed_value(problem_of: Planner) -> None:
    small = backend("small", limits={"max_size_gb": 4.0}, per_gb_month=1.0)
    diagnosis = diagnose_resources(problem_of(one_map(size="10GB"), small))
    assert diagnosis is not None
    assert diagnosis.resources[0].fix == Fix("small", ('size="4GB"',), 4.0)


def test_a_shared_fix_shows_and_counts_the_instance_fee(problem_of: Planner) -> None:
    dear = backend("dear", read_latency_ms=10, per_gb_month=13.0)
    diagnosis = diagnose_resources(
        problem_of(one_map(read_latency="< 5ms", durability="ephemeral"), dear, REDIS)
    )
    assert diagnosis is not None
    fix = diagnosis.resources[0].fix
    # redis: size 1 GB (default) > 0.5 GB instance: relax size; $0 + $12 fee < $13.
    assert fix == Fix("redis", ('size="0.5GB"',), 0.0, 12.0)
    assert str(fix) == 'size="0.5GB" → redis at $0.00/month + $12.00/month per shared instance'


@pytest.mark.parametrize(
    ("constraints", "offending"),
    [
        ({"read_latency": "< 5ms"}, backend("kv", read_latency_ms=7.5)),
        ({"write_latency": "< 1ms"}, backend("kv", write_latency_ms=2)),
        ({"durability": "durable"}, backend("kv", durability="persistent")),
        ({"consistency": "strong"}, backend("kv", consistency=("eventual",))),
        ({"availability": "99.99%"}, backend("kv", availability=99.95)),
        ({"ttl": "30d"}, backend("kv", capabilities=("ttl",), limits={"max_ttl_s": 86400.0})),
        ({"ttl": "30d"}, backend("kv")),
        ({"size": "3GB"}, backend("kv", limits={"max_size_gb": 2.5})),
        ({"reads": "500/s"}, backend("kv", shared={"reads_per_s": 333.3333})),
        ({"access": "prefix"}, backend("kv")),
        ({}, backend("kv", durability="ephemeral")),
    ],
)
def test_applying_the_relaxation_makes_the_backend_feasible(
    problem_of: Planner, constraints: dict[str, object], offending: object
) -> None:
    diagnosis = diagnose_resources(problem_of(one_map(**constraints), offending))
    assert diagnosis is not None
    fix = diagnosis.resources[0].fix
    assert fix is not None
    relaxed = dict(constraints)
    for change in fix.relaxations:
        if change.startswith("remove "):
            del relaxed[change.removeprefix("remove ")]
        else:
            key, _, value = change.partition("=")
            relaxed[key] = ast.literal_eval(value)
    problem = problem_of(one_map(**relaxed), offending)
    assert [o.backend for o in problem.resources[0].options] == ["kv"]


def test_unsatisfiable_error_says_what_where_and_how(problem_of: Planner) -> None:
    app = one_map(read_latency="< 5ms")
    diagnosis = diagnose_resources(problem_of(app, DYNAMODB))
    assert diagnosis is not None
    error = unsatisfiable(diagnosis)
    assert isinstance(error, UnsatisfiableError)
    assert error.report is diagnosis
    assert error.where == str(app.blueprint().resource("Carts").location)
    assert "1 resource cannot be placed on any backend of catalog 'aws' (Carts)" in error.what
    # 1 GB (default) at $0.25 + 2.628 M reads at $0.125 + 2.628 M writes at $0.625
    assert error.fix == 'Carts: read_latency="<= 10ms" → dynamodb at $2.22/month'
    assert error.command == "skaal plan --explain Carts"
    assert format_diagnosis(diagnosis) in str(error)


def test_global_conflicts_are_formatted_and_raised() -> None:
    here = SourceLocation(file="app.py", line=3)
    there = SourceLocation(file="app.py", line=9)
    conflict = GlobalConflict(
        constraint="budget",
        declarations=(("shop", here), ("Carts", there)),
        detail="the cheapest plan costs $80.00/month, the budget is $50.00/month",
        relaxation='budget="$80/month"',
    )
    diagnosis = Diagnosis(catalog="aws", conflicts=(conflict,))
    assert format_diagnosis(diagnosis).splitlines() == [
        "conflict on budget: the cheapest plan costs $80.00/month, the budget is $50.00/month",
        "  shop (app.py:3)",
        "  Carts (app.py:9)",
    ]
    error = unsatisfiable(diagnosis)
    assert error.where == "app.py:3"
    assert error.fix == 'budget="$80/month"'
    assert error.render().count('fix: budget="$80/month"') == 1  # said once, at the end
    assert "(budget)" in error.what


def test_explain_lists_every_backend_in_catalog_order(problem_of: Planner) -> None:
    problem = problem_of(one_map(read_latency="< 5ms"), DYNAMODB, REDIS, SQS, backend("fast"))
    reports = explain(problem, "Carts")
    assert [(r.backend, r.rank, r.feasible) for r in reports] == [
        ("dynamodb", 0, False),
        ("redis", 1, False),
        ("sqs", 2, False),
        ("fast", 3, False),  # no published latency
    ]
    assert [r.constraint for r in reports[1].rejections] == ["durability", "size"]
    problem = problem_of(one_map(), DYNAMODB, SQS)
    feasible = explain(problem, "Carts")[0]
    assert feasible.feasible
    assert feasible.cost == problem.resources[0].options[0].cost
    assert feasible.lines == cost_lines(DYNAMODB, problem.resources[0].workload)
    assert money(sum(line.monthly for line in feasible.lines)) == feasible.cost
    assert feasible.region == "us-east-1"


def test_explain_an_unknown_resource(problem_of: Planner) -> None:
    with pytest.raises(UsageError, match="did you mean 'Carts'"):
        explain(problem_of(one_map(), DYNAMODB), "Cart")


def test_a_declared_residency_is_never_relaxed_the_catalog_is(problem_of: Planner) -> None:
    us_only = backend("kv", regions=("us-east-1",), per_gb_month=0.5)
    diagnosis = diagnose_resources(problem_of(one_map(residency="eu"), us_only))
    assert diagnosis is not None
    (res,) = diagnosis.resources
    assert res.fix is None
    assert res.catalog_fix is not None
    assert res.catalog_fix.backend == "kv"
    assert res.catalog_fix.relaxations == (
        "add a region in 'eu' (with its prices) to kv in a catalog that extends this one",
    )
    assert res.catalog_fix.cost == pytest.approx(0.5)  # priced as declared: 1 GB
    text = format_diagnosis(diagnosis)
    assert "no declaration change that keeps its residency makes a backend fit" in text
    assert "residency=" not in text


def test_an_adjustable_quota_is_said_and_priced_at_the_declared_rate(problem_of: Planner) -> None:
    quota = {"max_reads_per_s": 100.0, "adjustable": ("max_reads_per_s",)}
    kv = backend("kv", limits=quota, per_million_reads=1.0)
    diagnosis = diagnose_resources(problem_of(one_map(reads="500/s"), kv))
    assert diagnosis is not None
    (res,) = diagnosis.resources
    assert res.fix is not None
    assert res.fix.relaxations == ('reads="100/s"',)
    assert res.catalog_fix is not None
    (change,) = res.catalog_fix.relaxations
    assert "kv's max_reads_per_s = 100 is a provider quota raised on request" in change
    # 500 reads/s for a month of 2,628,000 s at $1 per million reads
    assert res.catalog_fix.cost == pytest.approx(500 * 2.628, rel=1e-6)
    # a hard limit offers no catalog change
    hard = backend("kv", limits={"max_reads_per_s": 100.0}, per_million_reads=1.0)
    diagnosis = diagnose_resources(problem_of(one_map(reads="500/s"), hard))
    assert diagnosis is not None
    assert diagnosis.resources[0].catalog_fix is None


def test_each_other_set_of_relaxed_constraints_is_offered_cheapest_first(
    problem_of: Planner,
) -> None:
    slow = backend("slow", read_latency_ms=20, per_gb_month=1.0)
    fragile = backend("fragile", read_latency_ms=1, durability="ephemeral", per_gb_month=2.0)
    diagnosis = diagnose_resources(
        problem_of(one_map(read_latency="< 5ms", durability="persistent"), slow, fragile)
    )
    assert diagnosis is not None
    (res,) = diagnosis.resources
    assert res.fix is not None
    assert res.fix.backend == "slow"
    assert [fix.backend for fix in res.alternatives] == ["fragile"]
    assert '  or: durability="ephemeral" → fragile' in format_diagnosis(diagnosis)
