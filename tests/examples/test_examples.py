"""Every example imports, builds a blueprint and plans on every bundled catalog.

Each example is planned on ``local``, ``local-servers``, ``aws`` and ``gcp``;
the backends its README promises for its headline resource are asserted, so a
catalog or solver change that moves them fails here and the README is
updated with it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skaal import App, Map
from skaal.builder.stacks.gcp import GcpStack
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.targets.gcp_stack import gcp_stack
from skaal.catalog import load_catalog
from skaal.declare.app_ref import load_app
from skaal.solver import solve
from tests.builder._pulumi import example_context

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/app.py"))
CATALOGS = ("local", "local-servers", "aws", "gcp")


def load(example: str) -> App:
    return load_app(f"examples/{example}/app.py:app", cwd=ROOT)


def solver() -> Callable[..., Any]:
    return solve


def test_examples_are_found() -> None:
    assert EXAMPLES == [
        "counter",
        "file_upload",
        "flask_legacy",
        "hello",
        "jobs",
        "session_cache",
        "shop",
        "todo_api",
    ]
    for example in EXAMPLES:
        assert (ROOT / "examples" / example / "README.md").is_file()


@pytest.mark.parametrize("example", EXAMPLES)
def test_readme_gives_the_commands_to_plan_run_and_build(example: str) -> None:
    readme = (ROOT / "examples" / example / "README.md").read_text()
    ref = f"examples/{example}/app.py"
    for catalog in ("--target local", "--catalog local-servers", "--target aws", "--target gcp"):
        assert f"skaal plan {ref}:app {catalog}" in readme
    assert f"skaal run {ref}" in readme
    assert f"skaal build {ref}:app --target" in readme
    assert "curl -X POST localhost:8000/fn/" in readme


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_builds_a_stable_blueprint(example: str) -> None:
    first, second = load(example).blueprint(), load(example).blueprint()
    assert first.app == example.replace("_", "-")  # app names cannot contain "_"
    assert first.resources
    assert first.content_hash() == second.content_hash()


def test_shop_declares_what_its_readme_describes() -> None:
    blueprint = load("shop").blueprint()
    kinds = {r.kind for r in blueprint.resources}
    assert kinds == {"map", "collection", "blob", "queue", "function", "secret"}
    assert {r.name.split(".")[0] for r in blueprint.resources if "." in r.name} == {
        "billing",
        "cart",
        "catalog",
    }
    assert blueprint.resource("billing.Orders").requirements.collocate_with == "cart.Carts"
    assert blueprint.resource("billing.Orders").indexes == ("owner", "status")
    assert blueprint.resource("billing.nightly_report").schedule is not None
    assert blueprint.budget_usd_month is not None


@pytest.mark.parametrize("catalog", CATALOGS)
@pytest.mark.parametrize("example", EXAMPLES)
def test_example_plans_on_every_catalog(example: str, catalog: str) -> None:
    solve = solver()

    blueprint = load(example).blueprint()
    plan = solve(blueprint, load_catalog(catalog))
    assert plan.app == example.replace("_", "-")
    assert {b.resource for b in plan.bindings} == {r.name for r in blueprint.resources}
    if blueprint.budget_usd_month is not None:
        assert plan.total_monthly_cost <= blueprint.budget_usd_month


#: The backend each README promises for the example's headline resource.
PROMISED = {
    ("flask_legacy", "Visits"): {
        "local": "sqlite",
        "local-servers": "sqlite",
        "aws": "dynamodb",
        "gcp": "firestore",
    },
    ("hello", "Counters"): {
        "local": "sqlite",
        "local-servers": "sqlite",
        "aws": "dynamodb",
        "gcp": "firestore",
    },
    ("session_cache", "Sessions"): {
        "local": "memory",
        "local-servers": "memory",
        "aws": "elasticache-redis",
        "gcp": "memorystore-redis",
    },
}


@pytest.mark.parametrize("catalog", CATALOGS)
@pytest.mark.parametrize(("example", "resource"), sorted(PROMISED))
def test_example_lands_where_its_readme_says(example: str, resource: str, catalog: str) -> None:
    solve = solver()

    plan = solve(load(example).blueprint(), load_catalog(catalog))
    bindings = {b.resource: b.backend for b in plan.bindings}
    assert bindings[resource] == PROMISED[(example, resource)][catalog]
    readme = (ROOT / "examples" / example / "README.md").read_text()
    assert f"`{bindings[resource]}`" in readme


def test_session_cache_takes_a_larger_node_when_it_grows() -> None:
    """Declaring more than the smallest node holds picks a larger class, as the README says."""
    solve = solver()

    source = (ROOT / "examples" / "session_cache" / "app.py").read_text()
    assert 'size="200MB"' in source
    bigger = App("session-cache")

    @bigger.storage(read_latency="< 1ms", durability="ephemeral", ttl="30m", size="2GB")
    class Sessions(Map[str, str]): ...

    small = solve(load("session_cache").blueprint(), load_catalog("aws"))
    large = solve(bigger.blueprint(), load_catalog("aws"))
    assert [i.instance_class for i in small.instances] == ["cache.t4g.micro"]
    assert [i.instance_class for i in large.instances] == ["cache.t4g.medium"]
    assert large.total_monthly_cost == pytest.approx(47.45 + 36.50)


@pytest.mark.parametrize("catalog", ["aws", "gcp"])
def test_shop_fits_its_budget_only_by_sharing_an_instance(catalog: str) -> None:
    solve = solver()

    blueprint = load("shop").blueprint()
    plan = solve(blueprint, load_catalog(catalog))
    assert blueprint.budget_usd_month is not None
    assert plan.total_monthly_cost <= blueprint.budget_usd_month
    on_servers = {r for instance in plan.instances for r in instance.resources}
    assert on_servers == {"billing.Orders", "billing.Payments", "cart.Carts", "catalog.Products"}
    # aws: one db.t4g.micro holds all four; gcp: two db-f1-micro (300 reads/s and
    # 100 writes/s each) cost less than one db-g1-small.  How the four share the
    # two gcp instances is a tie: any split of them costs the same.
    assert len(plan.instances) == (1 if catalog == "aws" else 2)
    assert all(len(i.resources) >= 1 for i in plan.instances)
    unshared = plan.total_monthly_cost + sum(
        i.fixed_monthly * (len(i.resources) - 1) for i in plan.instances
    )
    # On aws the budget holds only thanks to sharing (the README says so).
    assert (unshared > blueprint.budget_usd_month) == (catalog == "aws")
    bindings = {b.resource: b for b in plan.bindings}
    assert {bindings[name].instance for name in on_servers} == {i.id for i in plan.instances}


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_is_served_over_http_by_some_test(example: str) -> None:
    """Every example is run with ``skaal run`` and spoken to by a test (see tests/_server.py)."""
    serving = [
        path.relative_to(ROOT)
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        if "skaal_run(" in (text := path.read_text())
        and (f'copy_example("{example}"' in text or f'EXAMPLES / "{example}"' in text)
    ]
    assert serving, f"no test serves examples/{example} with skaal_run"


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_builds_its_gcp_stack_model(example: str) -> None:
    # the stack.json the program reads back; tests/builder/test_gcp_build.py runs each one
    blueprint = load(example).blueprint()
    plan = solver()(blueprint, load_catalog("gcp"))
    artifacts = build_gcp(example_context(example, blueprint, plan, "gcp"))
    stack = GcpStack.model_validate_json(str(artifacts.file("infra/stack.json").content))
    assert stack == gcp_stack(blueprint, plan)
    assert stack.services
    assert {s.location for s in stack.services} <= {b.region for b in plan.bindings} | {
        stack.region
    }
