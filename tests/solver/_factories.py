"""Small blueprints for the optimiser tests."""

from __future__ import annotations

from skaal.blueprint.model import Blueprint, Kind, Requirements, ResourceSpec, SourceLocation
from skaal.model.grammar import parse_latency

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
