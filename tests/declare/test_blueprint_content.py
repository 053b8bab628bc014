"""The content hash's text is the standard library's text of the Blueprint's dump, byte for byte.

:meth:`skaal.blueprint.Blueprint.canonical_json` takes the fields that are
not content out of one dump and has orjson write the text where that gives
the same bytes; checked here against :func:`json.dumps` of the whole dump,
the same fields taken out, on resources that fill every field, share and do
not share their requirements, and carry values orjson writes differently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from skaal.blueprint.model import (
    Blueprint,
    MountSpec,
    Requirements,
    ResourceSpec,
    ScheduleSpec,
    SourceLocation,
)
from skaal.model.grammar import Bound
from solver.draws import draw_blueprint, write_app

_HERE = SourceLocation(file="app.py", line=1)


def _dumped(blueprint: Blueprint) -> str:
    """The canonical text as the Blueprint's whole dump gives it (the reference)."""
    data: dict[str, Any] = blueprint.model_dump(mode="json", exclude={"location"})
    for dumped in data["resources"]:
        for name in ("location", "uses"):
            del dumped[name]
        if dumped["existing"] is None:
            del dumped["existing"]
    for dumped in data["mounts"]:
        for name in ("location", "interface", "threads"):
            del dumped[name]
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _blueprint(*resources: ResourceSpec, budget: float | None = 50.0) -> Blueprint:
    mount = MountSpec(path="/api", python_ref="app:api", location=_HERE, threads=4)
    return Blueprint(
        app="shop",
        resources=resources,
        mounts=(mount,),
        budget_usd_month=budget,
        max_backends=3,
        location=_HERE,
    )


def test_every_field_is_written_as_the_dump_writes_it() -> None:
    shared = Requirements(
        read_latency=Bound(value=5.0, strict=True), durability="durable", size_gb=1e-05
    )
    blueprint = _blueprint(
        ResourceSpec(
            name="Carts",
            kind="map",
            requirements=shared,
            location=_HERE,
            key_type="str",
            value_type="app.Cart",
            python_ref="app:Carts",
            existing="arn:aws:dynamodb:t",
        ),
        ResourceSpec(
            name="Orders",
            kind="collection",
            requirements=shared,
            location=_HERE,
            key_field="id",
            indexes=("owner", "state"),
            python_ref="app:Orders",
        ),
        ResourceSpec(
            name="nightly",
            kind="function",
            location=_HERE,
            http=False,
            secrets=("KEY",),
            schedule=ScheduleSpec(cron="0 3 * * *"),
            consumes="Jobs",
            uses=("Carts",),
            requirements=Requirements(memory_gb=0.5, timeout_s=30.0, max_attempts=None),
        ),
        ResourceSpec(name="KEY", kind="secret", location=_HERE),
    )
    assert blueprint.canonical_json() == _dumped(blueprint)


def test_an_infinity_is_written_as_the_standard_library_writes_it() -> None:
    endless = Requirements(ttl_s=float("inf"))
    blueprint = _blueprint(
        ResourceSpec(name="Cache", kind="map", requirements=endless, location=_HERE),
        budget=float("inf"),
    )
    assert "Infinity" in blueprint.canonical_json()
    assert blueprint.canonical_json() == _dumped(blueprint)


def test_a_blueprint_without_resources_keeps_its_text() -> None:
    blueprint = _blueprint()
    assert blueprint.canonical_json() == _dumped(blueprint)


@pytest.mark.parametrize("draw", ["profiles", "users"])
def test_the_drawn_apps_keep_their_text(draw: str, tmp_path: Path) -> None:
    blueprint = draw_blueprint(write_app(tmp_path / f"{draw}300.py", draw, 300))
    assert blueprint.canonical_json() == _dumped(blueprint)
