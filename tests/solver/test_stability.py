"""Plan stability: the previous lock's choices are kept unless re-optimising."""

from __future__ import annotations

import pytest

from skaal.solver import solve
from skaal.testing import backend, catalog
from tests.solver._factories import blueprint, res


def cat(b_price: float) -> object:
    return catalog(
        backends=[
            backend("a", kinds=("map",), per_gb_month=1.0),
            backend("b", kinds=("map",), per_gb_month=b_price),
        ]
    )


def test_previous_choice_is_kept_when_a_cheaper_backend_appears() -> None:
    bp = blueprint(res("Carts", size_gb=10.0))
    before = solve(bp, cat(2.0))  # type: ignore[arg-type]
    assert before.binding("Carts").backend == "a"
    after = solve(bp, cat(0.5), previous=before)  # type: ignore[arg-type]
    carts = after.binding("Carts")
    assert (carts.backend, carts.status) == ("a", "kept")
    assert carts.reason == "kept from skaal.lock ($10.00/month; re-optimising would move it to b)"
    assert after.reoptimize_savings == pytest.approx(5.0)
    moved = solve(bp, cat(0.5), previous=before, reoptimize=True)  # type: ignore[arg-type]
    assert moved.binding("Carts").backend == "b"
    assert moved.binding("Carts").status == "chosen"
    assert moved.reoptimize_savings == 0.0


def test_new_resources_are_optimised_and_prices_are_current() -> None:
    before = solve(blueprint(res("Carts", size_gb=10.0)), cat(2.0))  # type: ignore[arg-type]
    bp = blueprint(res("Carts", size_gb=10.0), res("Orders", size_gb=4.0))
    after = solve(bp, cat(0.5), previous=before)  # type: ignore[arg-type]
    assert after.binding("Orders").backend == "b"
    assert after.binding("Orders").status == "chosen"
    assert after.total_monthly_cost == pytest.approx(10.0 + 2.0)


def test_infeasible_previous_backend_is_replaced() -> None:
    before = solve(blueprint(res("Carts", size_gb=10.0)), cat(2.0))  # type: ignore[arg-type]
    only_b = catalog(backends=[backend("b", kinds=("map",), per_gb_month=2.0)])
    after = solve(blueprint(res("Carts", size_gb=10.0)), only_b, previous=before)
    assert after.binding("Carts").backend == "b"
    assert after.binding("Carts").status == "chosen"


def test_kept_shared_instance_hosts_newcomers_for_free() -> None:
    def shared_cat(fee: float) -> object:
        return catalog(
            backends=[
                backend("dynamodb", per_gb_month=1.0),
                backend("redis", fixed_monthly=fee, shared={"size_gb": 100.0}),
            ]
        )

    first = [res(f"R{i}", size_gb=1.0) for i in range(3)]
    before = solve(blueprint(*first), shared_cat(2.5))  # type: ignore[arg-type]
    assert before.backends_used() == ("redis",)
    # The fee rose past what three resources save, but the instance is kept and
    # a newcomer joins it instead of paying $1 on dynamodb.
    bp = blueprint(*first, res("New", size_gb=1.0))
    after = solve(bp, shared_cat(5.0), previous=before)  # type: ignore[arg-type]
    assert after.binding("New").backend == "redis"
    assert after.total_monthly_cost == pytest.approx(5.0)
    assert after.reoptimize_savings == pytest.approx(1.0)
