"""Every example imports, builds a blueprint and plans on every bundled target."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skaal import App
from skaal.cli.app_ref import load_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent.name for p in (ROOT / "examples").glob("*/app.py"))
TARGETS = ("local", "aws", "gcp")


def load(example: str) -> App:
    return load_app(f"examples/{example}/app.py:app", cwd=ROOT)


def solver() -> Callable[..., Any]:
    solve = getattr(importlib.import_module("skaal.solver"), "solve", None)
    if solve is None:
        pytest.skip("the solver is not available yet")
    assert callable(solve)
    return solve


def test_examples_are_found() -> None:
    assert EXAMPLES == ["counter", "file_upload", "hello", "jobs", "shop", "todo_api"]
    for example in EXAMPLES:
        assert (ROOT / "examples" / example / "README.md").is_file()


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


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("example", EXAMPLES)
def test_example_plans_on_every_target(example: str, target: str) -> None:
    solve = solver()
    from skaal.catalog import catalog_for_target

    blueprint = load(example).blueprint()
    plan = solve(blueprint, catalog_for_target(target))
    assert plan.app == example.replace("_", "-")
    assert {b.resource for b in plan.bindings} == {r.name for r in blueprint.resources}
    if blueprint.budget_usd_month is not None:
        assert plan.total_monthly_cost <= blueprint.budget_usd_month


def test_shop_fits_its_budget_on_aws_only_by_sharing_an_instance() -> None:
    solve = solver()
    from skaal.catalog import catalog_for_target

    blueprint = load("shop").blueprint()
    plan = solve(blueprint, catalog_for_target("aws"))
    assert blueprint.budget_usd_month is not None
    assert plan.total_monthly_cost <= blueprint.budget_usd_month
    shared = [instance for instance in plan.instances if len(instance.resources) >= 2]
    assert shared
    unshared = plan.total_monthly_cost + sum(
        i.fixed_monthly * (len(i.resources) - 1) for i in shared
    )
    assert unshared > blueprint.budget_usd_month
    bindings = {b.resource: b for b in plan.bindings}
    orders, carts = bindings["billing.Orders"], bindings["cart.Carts"]
    assert orders.instance is not None
    assert orders.instance == carts.instance
