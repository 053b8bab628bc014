"""Small blueprints and servers for the optimiser tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.blueprint.model import Blueprint, Kind, Requirements, ResourceSpec, SourceLocation
from skaal.catalog.loader import load_catalog
from skaal.catalog.model import InstanceClass
from skaal.model.grammar import parse_latency
from skaal.plan.model import Plan
from skaal.solver import solve
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.servers import Bins, Server, server_of
from skaal.testing import backend
from skaal.testing.catalogs import instance_class
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, read_catalog

APP_LOCATION = SourceLocation(file="app.py", line=3)


def res(name: str, *, kind: Kind = "map", line: int = 10, **requirements: object) -> ResourceSpec:
    if isinstance(latency := requirements.get("read_latency"), str):
        requirements["read_latency"] = parse_latency(latency)
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements.model_validate(requirements),
        location=SourceLocation(file="app.py", line=line),
    )


def blueprint(*resources: ResourceSpec, **options: object) -> Blueprint:
    return Blueprint.model_validate(
        {"app": "shop", "resources": resources, "location": APP_LOCATION, **options}
    )


def pg_server(classes: list[tuple[str, float, float, float, int]], *, quota: int = 10) -> Server:
    """Server ``pg`` (maps) whose classes are (name, monthly price, reads/s, writes/s,
    most replicas), each with 1,000 GB and 100 resources."""
    return server_of(
        backend(  # type: ignore[arg-type]
            "pg",
            kinds=("map",),
            quota=quota,
            classes=[
                instance_class(
                    name,
                    price=price,
                    size_gb=1000.0,
                    reads_per_s=reads,
                    writes_per_s=writes,
                    resources=100,
                    max_replicas=replicas,
                    parameters={},
                )
                for name, price, reads, writes, replicas in classes
            ],
        )
    )


def writes_class(
    name: str, price: float, writes: float, *, resources: int = 100, quota_units: int = 1
) -> InstanceClass:
    """A class of 1,000 GB and 1,000 reads/s, limited by ``writes`` writes/s and
    ``resources``, using ``quota_units`` of its server's quota."""
    item = instance_class(
        name,
        price=price,
        size_gb=1000.0,
        reads_per_s=1000.0,
        writes_per_s=writes,
        resources=resources,
        parameters={},
    )
    return item if quota_units == 1 else item.model_copy(update={"quota_units": quota_units})


def writes_server(
    *classes: tuple[str, float, float], quota: int = 10, reads: float = 1000.0
) -> Server:
    """Server ``pg`` whose classes are (name, monthly price, writes/s), each with ``reads``
    reads/s and no replica (:func:`pg_server`)."""
    rows = [(name, price, reads, writes, 0) for name, price, writes in classes]
    return pg_server(rows, quota=quota)


def writes_unit(name: str, writes: float, *options: tuple[str, float]) -> Unit:
    """A unit of one resource, 1 GB and 1 read/s, using ``writes`` writes/s, with
    ``options`` as (backend, monthly cost)."""
    ordered = sorted(options, key=lambda option: option[1])
    return Unit(
        (name,),
        tuple(UnitOption(b, round(c * SCALE), r) for r, (b, c) in enumerate(ordered)),
        (SCALE, SCALE, round(writes * SCALE), SCALE),
    )


def fixed_unit(name: str, server: str, writes: float = 100.0) -> Unit:
    """A unit of ``writes`` writes/s with no dedicated option: it never leaves ``server``."""
    return writes_unit(name, writes, (server, 0.0))


def labels(bins: Bins) -> list[tuple[str, list[str]]]:
    """Each instance as (its class, the names of its units), sorted: packings compared by eye."""
    return sorted(
        (shape.instance_class.name, sorted(u.name for u in members)) for shape, members in bins
    )


def placed_cost(placement: dict[str, list[Unit]], bins: dict[str, Bins]) -> float:
    """What ``placement`` costs with the fees of ``bins``' instances (dollars a month)."""
    own = sum(
        next(o.cost for o in unit.options if o.backend == backend)
        for backend, units in placement.items()
        for unit in units
    )
    fees = sum(shape.fee_micro for packed in bins.values() for shape, _ in packed)
    return (own + fees) / SCALE


def aws_quota_raised(folder: Path) -> str:
    """The bundled aws catalog with DynamoDB's regional quota on provisioned capacity
    raised past any draw's (a quota request granted), written in ``folder``: the
    packing and its steps measured alone, before tables move on-demand to fit the
    default 80,000 units (:mod:`skaal.solver.mode_quotas`)."""
    path = folder / "aws-quota-raised.toml"
    path.write_text(
        'schema_version = 2\nname = "aws-quota-raised"\nextends = "aws"\n'
        "[backends.dynamodb.modes.provisioned]\n"
        "quota_read_units = 100000000\nquota_write_units = 100000000\n"
    )
    return str(path)


def audited_users_plan(folder: Path, catalog: str, n: int, seed: int) -> Plan:
    """The plan of the ``users`` draw of ``n`` resources (``seed``) on bundled ``catalog``,
    checked valid by the independent oracle."""
    blueprint = draw_blueprint(write_app(folder / f"users{n}.py", "users", n, seed=seed))
    plan = solve(blueprint, load_catalog(catalog))
    assert audit(plan, blueprint, read_catalog(catalog)) == []
    return plan


def assert_users_plan(
    folder: Path, catalog: str, n: int, seed: int, *, total: float, bound: float
) -> None:
    """The ``users`` draw's plan (:func:`audited_users_plan`) costs ``total`` a month
    against a proven lower bound of ``bound`` (dollars, to the cent)."""
    plan = audited_users_plan(folder, catalog, n, seed)
    assert plan.lower_bound == pytest.approx(bound, abs=0.01)
    assert plan.total_monthly_cost == pytest.approx(total, abs=0.01)
