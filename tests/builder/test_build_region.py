"""A build creates everything where the plan put it, and never drops a declared residency.

An app whose every resource declares ``residency="eu"`` plans into an EU
region; its aws and gcp stacks are built there (the provider, the stack
config, the functions' ``SKAAL_REGION``), not in the catalog's default
region.  A plan spread over several regions is refused with the resources
of each region and how to fix it (:func:`skaal.plan.wiring.stack_region`).
"""

from __future__ import annotations

import types
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal import App, Map
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.targets.gcp_program import render_program
from skaal.catalog.loader import load_catalog
from skaal.cli.main import cli
from skaal.errors import BuildError
from skaal.solver import solve
from tests.builder.aws_support import app_context, run_program, write_with_layer
from tests.builder.gcp_mocks import CONFIG
from tests.builder.gcp_mocks import run_program as run_gcp_program


def _app(*, everywhere: bool) -> App:
    app = App("eu-shop")
    carts = types.new_class("Carts", (Map[str, int],))
    app.storage(durability="persistent", residency="eu")(carts)

    async def count(key: str) -> int | None:
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    (app.function(residency="eu") if everywhere else app.function())(count)

    return app


def test_an_eu_app_builds_its_aws_stack_in_the_eu(tmp_path: Path) -> None:
    app = _app(everywhere=True)
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert plan.region == "us-east-1"  # the catalog's default region
    assert {b.region for b in plan.bindings} == {"eu-west-1"}
    artifacts = build_aws(app_context(app.blueprint(), plan, "shop:app"))
    assert artifacts.file("Pulumi.prod.yaml").content == "config:\n  aws:region: eu-west-1\n"
    run = run_program(write_with_layer(artifacts, tmp_path))
    (provider,) = [r for r in run.resources if r.type == "pulumi:providers:aws"]
    assert provider.inputs["region"] == "eu-west-1"
    for function in run.of_type("aws:lambda/function:Function"):
        assert function.inputs["environment"]["variables"]["SKAAL_REGION"] == "eu-west-1"


def test_an_eu_app_builds_its_gcp_stack_in_the_eu() -> None:
    app = _app(everywhere=True)
    plan = solve(app.blueprint(), load_catalog("gcp"))
    (region,) = {b.region for b in plan.bindings}
    assert region.startswith("europe-")
    artifacts = build_gcp(replace(app_context(app.blueprint(), plan, "shop:app"), target="gcp"))
    assert f"gcp:region: {region}" in artifacts.file("infra/Pulumi.dev.yaml").content
    run = run_gcp_program(render_program(app.blueprint(), plan), CONFIG)
    located = [
        (item.name, item.inputs[key])
        for item in run.resources
        for key in ("region", "location", "locationId")
        if key in item.inputs
    ]
    assert located
    assert {value.lower() for _, value in located} == {region}


def test_a_plan_across_regions_is_refused_with_each_region_s_resources() -> None:
    app = _app(everywhere=False)
    plan = solve(app.blueprint(), load_catalog("aws"))
    assert {b.region for b in plan.bindings} == {"eu-west-1", "us-east-1"}
    with pytest.raises(BuildError) as caught:
        build_aws(app_context(app.blueprint(), plan, "shop:app"))
    message = str(caught.value)
    assert "places resources in 2 regions (eu-west-1: Carts; us-east-1: count" in message
    assert 'residency="eu"' in (caught.value.fix or "")


def test_the_plan_says_when_it_spans_regions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    (tmp_path / "app.py").write_text(
        "from skaal import App, Map\n"
        'app = App("eu-shop")\n'
        '@app.storage(durability="persistent", residency="eu")\n'
        "class Carts(Map[str, int]): ...\n"
        "@app.function()\n"
        "async def count(key: str) -> int | None:\n"
        "    return await Carts.get(key)\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "app.py:app", "--target", "aws", "--no-write"])
    assert result.exit_code == 0, result.output
    assert "this plan spans 2 regions (eu-west-1, us-east-1)" in " ".join(result.stdout.split())
