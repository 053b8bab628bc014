"""A build creates everything where the plan put it, and never drops a declared residency.

An app whose every resource declares ``residency="eu"`` plans into an EU
region; its aws and gcp stacks are built there (the provider, the stack
config, the functions' ``SKAAL_REGION``), not in the catalog's default
region.  A plan spread over several regions is refused with the resources
of each region and how to fix it (:func:`skaal.build.wiring.stack_region`).
"""

from __future__ import annotations

import types
from dataclasses import replace
from pathlib import Path

import pytest

from skaal import App, Map
from skaal.build.targets.aws import build_aws
from skaal.build.targets.gcp import build_gcp
from skaal.build.targets.gcp_program import render_program
from skaal.catalog.loader import load_catalog
from skaal.errors import BuildError
from skaal.solver import solve
from tests.build.aws_support import app_context, run_program, write_with_layer
from tests.build.gcp_mocks import CONFIG
from tests.build.gcp_mocks import run_program as run_gcp_program


def _app(*, everywhere: bool, function_residency: str | None = None) -> App:
    app = App("eu-shop")
    carts = types.new_class("Carts", (Map[str, int],))
    app.storage(durability="persistent", residency="eu")(carts)

    async def count(key: str) -> int | None:
        return await carts.get(key)  # type: ignore[no-any-return, attr-defined]

    residency = "eu" if everywhere else function_residency
    (app.function(residency=residency) if residency else app.function())(count)

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


def test_a_function_without_residency_follows_its_eu_data() -> None:
    plan = solve(_app(everywhere=False).blueprint(), load_catalog("aws"))
    assert {b.region for b in plan.bindings} == {"eu-west-1"}


def test_a_plan_across_regions_is_refused_with_each_region_s_resources() -> None:
    app = _app(everywhere=False, function_residency="us")
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
    from click.testing import CliRunner

    from skaal.cli.main import cli

    (tmp_path / "app.py").write_text(
        "from skaal import App, Map\n"
        'app = App("eu-shop")\n'
        '@app.storage(durability="persistent", residency="eu")\n'
        "class Carts(Map[str, int]): ...\n"
        '@app.function(residency="us")\n'
        "async def count(key: str) -> int | None:\n"
        "    return await Carts.get(key)\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "app.py:app", "--target", "aws", "--no-write"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "this plan spans 2 regions (eu-west-1, us-east-1)" in said
    # (1 read/s + 1 write/s, defaults) x 2,628,000 s x 4,000 bytes = 21.0 GB at $0.02
    assert "exchange 21 GB/month with data in another region ($0.42/month" in said
