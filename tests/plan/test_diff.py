"""diff_plans: added, removed, changed bindings and the total delta."""

from __future__ import annotations

from skaal.plan.diff import diff_plans
from skaal.plan.model import Binding, Plan


def _b(resource: str, backend: str, cost: float, region: str = "local") -> Binding:
    return Binding(
        resource=resource,
        kind="map",
        backend=backend,
        implementation=backend,
        region=region,
        monthly_cost=cost,
        reason="cheapest",
    )


def _plan(*bindings: Binding) -> Plan:
    return Plan(
        app="shop",
        catalog="local",
        provider="local",
        region="local",
        blueprint_hash="b",
        catalog_hash="c",
        bindings=bindings,
        total_monthly_cost=round(sum(b.monthly_cost for b in bindings), 2),
    )


def test_identical_plans_have_no_changes() -> None:
    plan = _plan(_b("Carts", "sqlite", 1.0))
    diff = diff_plans(plan, plan)
    assert diff.is_empty
    assert not diff.first_plan
    assert diff.to_json()["empty"] is True


def test_a_plan_diffed_with_itself_reads_as_an_equal_copy_of_it() -> None:
    plan = _plan(_b("Carts", "sqlite", 1.0), _b("A", "memory", 0.0), _b("B", "redis", 2.0))
    copy = _plan(*(b.model_copy() for b in plan.bindings))
    assert copy is not plan
    assert diff_plans(plan, plan) == diff_plans(plan, copy)
    assert diff_plans(plan, plan).kept == ("A", "B", "Carts")


def test_first_plan_adds_everything() -> None:
    diff = diff_plans(None, _plan(_b("Carts", "sqlite", 1.0), _b("A", "memory", 0.0)))
    assert diff.first_plan
    assert not diff.is_empty
    assert [b.resource for b in diff.added] == ["A", "Carts"]
    assert diff.total_delta == 1.0


def test_added_removed_and_changed() -> None:
    old = _plan(
        _b("Carts", "sqlite", 2.4), _b("Gone", "memory", 1.0), _b("Sessions", "memory", 0.0)
    )
    new = _plan(
        _b("Carts", "sqlite", 3.1),
        _b("New", "dynamodb", 2.4),
        _b("Sessions", "redis", 0.0),
    )
    diff = diff_plans(old, new)
    assert [b.resource for b in diff.added] == ["New"]
    assert [b.resource for b in diff.removed] == ["Gone"]
    assert [(c.resource, c.backend_changed) for c in diff.changed] == [
        ("Carts", False),
        ("Sessions", True),
    ]
    assert round(diff.changed[0].cost_delta, 2) == 0.7
    assert diff.old_total == 3.4
    assert diff.new_total == 5.5
    assert round(diff.total_delta, 2) == 2.1
    data = diff.to_json()
    assert data["changed"][1]["old"]["backend"] == "memory"
    assert data["changed"][1]["new"]["backend"] == "redis"


def test_sub_cent_noise_is_not_a_change() -> None:
    diff = diff_plans(_plan(_b("Carts", "sqlite", 1.0)), _plan(_b("Carts", "sqlite", 1.001)))
    assert diff.changed == ()


def test_region_move_is_a_change() -> None:
    diff = diff_plans(
        _plan(_b("Carts", "dynamodb", 1.0, region="us-east-1")),
        _plan(_b("Carts", "dynamodb", 1.0, region="eu-west-1")),
    )
    assert [c.backend_changed for c in diff.changed] == [True]
