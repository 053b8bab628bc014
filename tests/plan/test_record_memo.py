"""Content hashes are computed once per frozen record, and never leak or go stale."""

from __future__ import annotations

import copy
import pickle

import pytest

from skaal.blueprint.model import Blueprint, Requirements, ResourceSpec, SourceLocation
from skaal.blueprint.record import Record
from skaal.plan.model import Binding, Plan
from skaal.testing import backend, catalog
from tests.plan._factories import plan_of


class _Named(Record):
    name: str


def _blueprint(size_gb: float = 1.0) -> Blueprint:
    return Blueprint(
        app="shop",
        resources=(
            ResourceSpec(
                name="Carts",
                kind="map",
                requirements=Requirements(size_gb=size_gb),
                location=SourceLocation(file="app.py", line=3),
            ),
        ),
    )


def _plan(backend_name: str = "dynamodb") -> Plan:
    return plan_of(
        Binding(
            resource="Carts",
            kind="map",
            backend=backend_name,
            implementation=backend_name,
            region="us-east-1",
            monthly_cost=1.0,
            reason="cheapest",
        ),
        total_monthly_cost=1.0,
    )


def test_memo_computes_once_per_name() -> None:
    calls: list[str] = []
    record = _Named(name="a")

    def compute() -> str:
        calls.append("x")
        return f"value-{len(calls)}"

    assert record.memo("h", compute) == "value-1"
    assert record.memo("h", compute) == "value-1"
    assert record.memo("other", compute) == "value-2"
    assert calls == ["x", "x"]


def test_blueprint_hash_is_kept_and_equal_to_a_fresh_computation() -> None:
    hashed = _blueprint()
    first = hashed.content_hash()
    assert hashed.content_hash() is first
    assert _blueprint().content_hash() == first
    assert _blueprint(size_gb=2.0).content_hash() != first


def test_memo_is_invisible_to_dumps_repr_equality_and_hash() -> None:
    hashed, fresh = _blueprint(), _blueprint()
    hashed.content_hash()
    assert hashed == fresh
    assert hash(hashed) == hash(fresh)
    assert repr(hashed) == repr(fresh)
    assert hashed.model_dump() == fresh.model_dump()
    assert hashed.model_dump_json() == fresh.model_dump_json()
    assert hashed.canonical_json() == fresh.canonical_json()


def test_model_copy_with_update_gets_the_hash_of_its_own_content() -> None:
    plan = _plan()
    original = plan.content_hash()
    moved = plan.model_copy(
        update={"bindings": (plan.bindings[0].model_copy(update={"backend": "redis"}),)}
    )
    assert moved.content_hash() != original
    assert moved.content_hash() == Plan.model_validate(moved.model_dump()).content_hash()
    assert plan.content_hash() == original


def test_copies_and_pickles_keep_a_valid_hash() -> None:
    plan = _plan()
    expected = plan.content_hash()
    for other in (copy.copy(plan), copy.deepcopy(plan), pickle.loads(pickle.dumps(plan))):
        assert other == plan
        assert other.content_hash() == expected


def test_catalog_hash_follows_its_content() -> None:
    cheap = catalog(provider="aws", backends=[backend("dynamodb", fixed_monthly=1.0)])
    dear = catalog(provider="aws", backends=[backend("dynamodb", fixed_monthly=2.0)])
    assert cheap.content_hash() == cheap.content_hash()
    assert cheap.content_hash() != dear.content_hash()
    renamed = cheap.model_copy(update={"name": "other"})
    assert renamed.content_hash() != cheap.content_hash()


class _Other(Record):
    name: str


def test_records_compare_by_their_fields_whatever_their_memos() -> None:
    hashed, other_memo, fresh = _Named(name="a"), _Named(name="a"), _Named(name="a")
    hashed.memo("h", lambda: 1)
    other_memo.memo("h", lambda: 2)
    assert hashed == fresh == other_memo
    assert _Named(name="a") != _Named(name="b")
    assert _Named(name="a") != _Other(name="a")  # another class with the same fields
    assert _Named(name="a") != {"name": "a"}
    assert _plan() == _plan()
    assert _plan() != _plan("redis")


def test_a_catalog_finds_its_backends_by_name_and_a_copy_finds_its_own() -> None:
    cheap = catalog(provider="aws", backends=[backend("dynamodb", fixed_monthly=1.0)])
    assert cheap.backend("dynamodb") is cheap.backends[0]
    with pytest.raises(KeyError, match="redis"):
        cheap.backend("redis")
    dear = catalog(provider="aws", backends=[backend("dynamodb", fixed_monthly=2.0)])
    swapped = cheap.model_copy(update={"backends": dear.backends})
    assert swapped.backend("dynamodb") is dear.backends[0]
    assert cheap.backend("dynamodb") is cheap.backends[0]
