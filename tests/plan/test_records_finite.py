"""A record's floats are checked for infinity and NaN a field at a time, and a plan or
blueprint that holds one still hashes the standard library's text.

orjson writes an infinity or NaN as ``null`` where :mod:`json` writes ``Infinity``
or ``NaN``, so :func:`skaal.blueprint.canonical.canonical_text` keeps orjson's
text only for data known to hold neither: :func:`records_finite` says so of the
record the data was dumped from, read from its fields' types.  Every kind of
place a float can sit in a plan and a blueprint is tried here, and each must
send the hash to the standard text (a lock read back may hold ``inf``).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import msgspec
import pytest
from msgspec import Struct

from skaal.blueprint import canonical
from skaal.blueprint.canonical import all_finite, records_finite
from skaal.blueprint.model import Blueprint, Requirements, ResourceSpec, ScheduleSpec
from skaal.blueprint.model import SourceLocation as At
from skaal.catalog.model import Price, PriceItem
from skaal.model.grammar import Bound
from skaal.plan import model as plan_model
from skaal.plan.lock import read_lock, write_lock
from skaal.plan.model import (
    Binding,
    CostLine,
    Plan,
    Provisioned,
    SharedInstance,
    Transfer,
    UsedPrice,
)
from tests.plan._factories import plan_of

INF, NAN = float("inf"), float("nan")


def _standard(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _item(amount: float) -> PriceItem:
    return PriceItem(amount=amount, source="https://example.com/pricing", as_of="2026-11")


def _line(monthly: float = 1.5, *, quantity: float = 2.0, region: str | None = None) -> CostLine:
    return CostLine(component="per_gb_month", quantity=quantity, monthly=monthly, region=region)


def _binding(**changes: Any) -> Binding:
    binding = Binding(
        resource="Carts",
        kind="map",
        backend="dynamodb",
        implementation="dynamodb",
        region="us-east-1",
        mode="provisioned",
        provisioned=Provisioned(reads_per_s=5, writes_per_s=5, target_utilisation=0.7),
        monthly_cost=1.5,
        cost=(_line(),),
        reason="cheapest",
    )
    return binding.model_copy(update=changes)


def _instance(**changes: Any) -> SharedInstance:
    instance = SharedInstance(
        id="redis#1",
        backend="redis",
        instance_class="cache.t4g.micro",
        parameters={"node_type": "cache.t4g.micro", "maxmemory": 0.5},
        fixed_monthly=12.5,
        cost=(_line(),),
        resources=("Sessions",),
    )
    return instance.model_copy(update=changes)


def _plan(**changes: Any) -> Plan:
    plan = plan_of(
        _binding(),
        _binding(resource="Sessions", backend="redis", instance="redis#1", cost=()),
        _binding(resource="Api", kind="function", backend="lambda", provisioned=None),
        instances=(_instance(),),
        prices=(
            UsedPrice(
                backend="redis",
                price=Price(region="us-east-1", fixed_monthly=_item(12.5)),
                classes={"cache.t4g.micro": _item(12.5)},
            ),
        ),
        network=(_line(32.85, region="us-east-1"),),
        total_monthly_cost=48.85,
        lower_bound=40.0,
    )
    return plan.model_copy(update=changes)


def _in_binding(value: float) -> dict[str, Plan]:
    """A plan with ``value`` in each place a binding holds a float."""
    holding: dict[str, dict[str, Any]] = {
        "monthly_cost": {"monthly_cost": value},
        "a cost line": {"cost": (_line(), _line(quantity=value))},
        "its provisioning": {
            "provisioned": Provisioned(reads_per_s=5, writes_per_s=5, target_utilisation=value)
        },
        "a transfer": {"transfers": (Transfer(resource="Carts", region="eu", gb_month=value),)},
        "the binding it moves from": {
            "moving_from": _binding(resource="Api", cost=(_line(value),))
        },
    }
    plain = _plan()
    return {
        f"binding {where}": plain.model_copy(
            update={"bindings": (*plain.bindings[:2], _binding(resource="Api", **change))}
        )
        for where, change in holding.items()
    }


def _poisoned(value: float) -> dict[str, Plan]:
    """A plan with ``value`` in each kind of place a plan holds a float."""
    return {
        "total_monthly_cost": _plan(total_monthly_cost=value),
        "lower_bound": _plan(lower_bound=value),
        **_in_binding(value),
        "an instance's fee": _plan(instances=(_instance(fixed_monthly=value),)),
        "an instance's cost line": _plan(instances=(_instance(cost=(_line(value),)),)),
        "an instance's parameters": _plan(instances=(_instance(parameters={"maxmemory": value}),)),
        "a retiring server": _plan(retiring=(_instance(id="pg#1", fixed_monthly=value),)),
        "a used price": _plan(
            prices=(
                UsedPrice(backend="redis", price=Price(region="x", fixed_monthly=_item(value))),
            )
        ),
        "an instance class's price": _plan(
            prices=(
                UsedPrice(
                    backend="redis",
                    price=Price(region="x"),
                    classes={"cache.t4g.micro": _item(value)},
                ),
            )
        ),
        "the network": _plan(network=(_line(value, region="us-east-1"),)),
    }


def test_a_plan_of_finite_floats_is_finite() -> None:
    plan = _plan()
    assert records_finite(plan)
    assert all_finite(plan.model_dump(mode="json"))
    assert plan.canonical_json() == _standard_plan_text(plan)


@pytest.mark.parametrize("value", [INF, -INF, NAN], ids=["inf", "-inf", "nan"])
@pytest.mark.parametrize("where", sorted(_poisoned(1.0)))
def test_a_non_finite_float_anywhere_in_a_plan_hashes_the_standard_text(
    where: str, value: float
) -> None:
    plan = _poisoned(value)[where]
    assert not records_finite(plan)
    text = plan.canonical_json()
    assert "Infinity" in text or "NaN" in text
    assert text == _standard_plan_text(plan)
    assert plan.content_hash() == hashlib.sha256(text.encode()).hexdigest()


def _standard_plan_text(plan: Plan) -> str:
    """The plan's canonical text as :func:`json.dumps` writes it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plan_model, "canonical_text", lambda data, **_known: _standard(data))
        return plan.canonical_json()


def test_a_lock_holding_an_infinity_reads_back_with_its_hash(tmp_path: Path) -> None:
    plan = _poisoned(INF)["binding a cost line"]
    path = write_lock(plan, tmp_path / "skaal.lock")
    assert " inf" in path.read_text()
    again = read_lock(path)  # the hash it holds is checked as it is read
    assert again == plan
    assert again is not None
    assert again.content_hash() == hashlib.sha256(_standard_plan_text(plan).encode()).hexdigest()


def _blueprint(**changes: Any) -> Blueprint:
    at = At(file="app.py", line=3)
    blueprint = Blueprint(
        app="shop",
        resources=(
            ResourceSpec(
                name="Carts",
                kind="map",
                location=at,
                requirements=Requirements(size_gb=2.0, read_latency=Bound(value=10.0, strict=True)),
            ),
            ResourceSpec(
                name="tick",
                kind="function",
                location=at,
                schedule=ScheduleSpec(every_s=60.0),
            ),
        ),
        budget_usd_month=100.0,
    )
    return blueprint.model_copy(update=changes)


def _blueprint_holding(value: float) -> dict[str, Blueprint]:
    at = At(file="app.py", line=3)
    return {
        "the budget": _blueprint(budget_usd_month=value),
        "a requirement": _blueprint(
            resources=(
                ResourceSpec(
                    name="C", kind="map", location=at, requirements=Requirements(reads_per_s=value)
                ),
            )
        ),
        "a latency bound": _blueprint(
            resources=(
                ResourceSpec(
                    name="C",
                    kind="map",
                    location=at,
                    requirements=Requirements(write_latency=Bound(value=value, strict=False)),
                ),
            )
        ),
        "a schedule": _blueprint(
            resources=(
                ResourceSpec(
                    name="f", kind="function", location=at, schedule=ScheduleSpec(every_s=value)
                ),
            )
        ),
    }


@pytest.mark.parametrize("value", [INF, NAN], ids=["inf", "nan"])
@pytest.mark.parametrize("where", sorted(_blueprint_holding(1.0)))
def test_a_non_finite_float_anywhere_in_a_blueprint_hashes_the_standard_text(
    where: str, value: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    blueprint = _blueprint_holding(value)[where]
    assert records_finite(_blueprint())
    assert not records_finite(blueprint)
    text = blueprint.canonical_json()
    monkeypatch.setattr(canonical, "canonical_text", lambda data, **_k: _standard(data))
    assert text == blueprint.canonical_json()
    assert "Infinity" in text or "NaN" in text


class _Inner(Struct, frozen=True):
    value: float


class _Other(Struct, frozen=True):
    amount: float | None = None


class _Shapes(Struct, frozen=True, kw_only=True):
    """A field of each shape :func:`records_finite` reads differently."""

    number: int | float = 0
    maybe: float | None = None
    inner: _Inner | None = None
    inners: tuple[_Inner, ...] | None = None
    either: _Inner | _Other | None = None
    table: dict[str, float] = msgspec.field(default_factory=dict)
    floats: tuple[float, ...] = ()
    anything: Any = None
    text: str = ""
    count: int = 0


_SHAPES: dict[str, dict[str, Any]] = {
    "a number": {"number": INF},
    "a float or None": {"maybe": NAN},
    "a record": {"inner": _Inner(INF)},
    "a tuple of records": {"inners": (_Inner(1.0), _Inner(-INF))},
    "records of two classes": {"either": _Other(amount=NAN)},
    "a table of floats": {"table": {"a": 1.0, "b": INF}},
    "a tuple of floats": {"floats": (1.0, NAN)},
    "anything": {"anything": [{"deep": (INF,)}]},
}


@pytest.mark.parametrize("where", sorted(_SHAPES))
def test_every_shape_of_field_is_looked_in(where: str) -> None:
    finite = _Shapes(**{name: _finite_like(value) for name, value in _SHAPES[where].items()})
    assert records_finite(finite)
    assert not records_finite(_Shapes(**_SHAPES[where]))


def _finite_like(value: Any) -> Any:
    """``value`` with every float in it made finite (3.0)."""
    match value:
        case float():
            return value if math.isfinite(value) else 3.0
        case _Inner():
            return _Inner(_finite_like(value.value))
        case _Other():
            return _Other(amount=_finite_like(value.amount))
        case dict():
            return {k: _finite_like(v) for k, v in value.items()}
        case tuple() | list():
            return type(value)(_finite_like(v) for v in value)
    return value


def test_a_value_its_type_does_not_allow_has_the_whole_record_looked_at() -> None:
    # a float where a record is typed, text where a float is: all_finite answers
    assert not records_finite(_Shapes(inner=INF))  # type: ignore[arg-type]
    assert records_finite(_Shapes(inner=1.5))  # type: ignore[arg-type]
    assert records_finite(_Shapes(maybe="text"))  # type: ignore[arg-type]
    assert not records_finite(_Shapes(maybe="text", table={"x": NAN}))  # type: ignore[arg-type]


def test_a_sum_that_overflows_only_sends_the_text_the_slower_way() -> None:
    shapes = _Shapes(inners=(_Inner(1e308), _Inner(1e308)))
    assert all_finite(shapes)
    assert not records_finite(shapes)  # a false alarm: the data is looked at whole
    plan = _plan(bindings=(_binding(monthly_cost=1e308), _binding(monthly_cost=1e308)))
    assert plan.canonical_json() == _standard_plan_text(plan)
