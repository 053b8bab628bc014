"""The plan as a graph (:mod:`skaal.graph.model`) and its pictures (``skaal plan --graph``)."""

from __future__ import annotations

import json
import shutil
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from skaal import App, Map, Queue, Topic
from skaal.blueprint.model import Blueprint
from skaal.catalog import catalog_for_target
from skaal.cli.main import cli
from skaal.graph.model import PlanGraph, plan_graph
from skaal.graph.svg import graph_html, graph_svg, money
from skaal.pipeline import MemoryLockStore, plan_blueprint
from skaal.plan.model import Plan
from skaal.solver.cost import assumed_cost, workload
from solver.draws import draw_blueprint, write_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def shop() -> Iterator[Blueprint]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from shop.app import app  # noqa: PLC0415 - the example's module, importable once its folder is on the path

        yield app.blueprint()
    finally:
        sys.path.remove(str(EXAMPLES))


def _plan(blueprint: Blueprint, target: str) -> Plan:
    return plan_blueprint(blueprint, catalog_for_target(target), lock=MemoryLockStore()).plan


def test_the_shop_graph_has_every_resource_trigger_use_and_instance(shop: Blueprint) -> None:
    plan = _plan(shop, "aws")
    graph = plan_graph(shop, plan)
    nodes = {n.id: n for n in graph.nodes}
    assert {s.name for s in shop.resources} <= set(nodes)
    assert nodes["cart.Carts"].backend == plan.binding("cart.Carts").backend
    assert nodes["cart.Carts"].monthly_cost == plan.binding("cart.Carts").monthly_cost
    assert nodes["catalog.Images"].region == "us-east-1"
    assert nodes["schedule:billing.nightly_report"].detail == "cron(0 3 * * *) UTC"
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert ("schedule:billing.nightly_report", "billing.nightly_report", "schedule") in edges
    assert ("http:cart.add_item", "cart.add_item", "http") in edges
    assert ("billing.checkout", "billing.Payments", "uses") in edges
    assert ("billing.checkout", "STRIPE_KEY", "uses") in edges
    (instance,) = plan.instances
    assert nodes[instance.id].monthly_cost == instance.fixed_monthly
    assert {e.source for e in graph.edges if e.target == instance.id} == set(instance.resources)
    assert graph.network_monthly_cost == pytest.approx(sum(line.monthly for line in plan.network))
    assert all(e.source in nodes and e.target in nodes for e in graph.edges)


def test_consumers_subscribers_and_defaults() -> None:

    app = App("jobs")

    @app.queue(messages="2/s")
    class Work(Queue[str]): ...

    @app.topic()
    class News(Topic[str]): ...

    @app.storage(backend="sqlite")
    class Plain(Map[str, str]): ...

    @app.consumer(Work)
    async def handle(message: str) -> None: ...

    @app.subscriber(News)
    async def listen(message: str) -> None: ...

    blueprint = app.blueprint()
    graph = plan_graph(blueprint, _plan(blueprint, "local"))
    edges = {(e.source, e.target, e.kind) for e in graph.edges}
    assert ("Work", "handle", "consumes") in edges
    assert ("News", "listen", "subscribes") in edges
    nodes = {n.id: n for n in graph.nodes}
    assert not any(n.defaulted for n in nodes.values())  # the local catalog is free


def test_defaulted_nodes_are_those_whose_cost_rests_on_defaults(shop: Blueprint) -> None:

    plan = _plan(shop, "aws")
    graph = plan_graph(shop, plan)
    specs = {s.name: s for s in shop.resources}
    for node in graph.nodes:
        if node.kind in ("trigger", "instance"):
            assert not node.defaulted
            continue
        part, used = assumed_cost(workload(specs[node.id]), plan.binding(node.id).cost)
        assert node.defaulted == (part > 0)
        assert node.assumed_monthly == part
        assert node.defaults == (used if part > 0 else ())
    assert any(n.defaulted for n in graph.nodes)  # the shop leaves some workload undeclared
    assert json.loads(json.dumps(graph.to_json()))["nodes"][0]["id"] == graph.nodes[0].id


def test_the_svg_is_well_formed_and_escapes_names(shop: Blueprint) -> None:
    graph = plan_graph(shop, _plan(shop, "aws"))
    tricky = PlanGraph(
        app="a<b>&c",
        provider=graph.provider,
        catalog=graph.catalog,
        region=graph.region,
        total_monthly_cost=graph.total_monthly_cost,
        nodes=graph.nodes,
        edges=graph.edges,
        network_monthly_cost=graph.network_monthly_cost,
    )
    root = ET.fromstring(graph_svg(tricky))
    assert root.tag == f"{SVG}svg"
    ids = {g.get("data-id") for g in root.iter(f"{SVG}g")}
    assert {n.id for n in graph.nodes} == ids
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert any(t.startswith("a<b>&c on aws") for t in texts)
    assert "Monthly cost breakdown" in texts
    assert money(graph.total_monthly_cost) in " ".join(texts)
    assert len(list(root.iter(f"{SVG}path"))) > len(graph.edges)  # edges + the arrow head
    assert "<svg" in graph_html(graph)
    assert "<script" not in graph_html(graph)


@pytest.mark.parametrize(
    ("amount", "text"),
    [(None, "-"), (0.0, "$0.00/mo"), (0.001, "<$0.01/mo"), (1234.5, "$1,234.50/mo")],
)
def test_money(amount: float | None, text: str) -> None:
    assert money(amount) == text


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLES / "shop", tmp_path / "shop")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_plan_graph_writes_svg_and_html(project: Path) -> None:
    for name in ("plan.svg", "plan.html"):
        result = CliRunner().invoke(
            cli, ["plan", "shop/app.py:app", "--target", "aws", "--no-write", "--graph", name]
        )
        assert result.exit_code == 0, result.output
    root = ET.fromstring((project / "plan.svg").read_text())
    assert "billing.checkout" in {g.get("data-id") for g in root.iter(f"{SVG}g")}
    assert (project / "plan.html").read_text().startswith("<!doctype html>")


def test_plan_json_carries_the_graph(project: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "shop/app.py:app", "--no-write", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["graph"]["app"] == "shop"
    assert {n["id"] for n in data["graph"]["nodes"]} >= {"cart.Carts", "billing.checkout"}


def test_plan_graph_with_a_wrong_suffix_is_a_usage_error(project: Path) -> None:
    result = CliRunner().invoke(cli, ["plan", "shop/app.py:app", "--graph", "plan.png"])
    assert result.exit_code == 2
    assert "neither an .svg nor an .html" in result.output
    assert not (project / "skaal.lock").exists()


@pytest.mark.parametrize("target", ["aws", "gcp"])
def test_graph_to_json_holds_every_field_of_every_record(shop: Blueprint, target: str) -> None:
    """``to_json`` gives each record's fields in order, its nodes and edges as dicts too."""
    graph = plan_graph(shop, _plan(shop, target))
    assert graph.nodes
    assert graph.edges
    whole = msgspec.to_builtins(graph)  # recursive; tuples stay tuples
    data = graph.to_json()
    assert data == whole
    assert json.dumps(data) == json.dumps(whole)  # the same keys in the same order


@pytest.mark.parametrize(("draw", "n"), [("users", 40), ("profiles", 60)])
def test_alike_resources_get_the_assumed_cost_each_would_alone(
    draw: str, n: int, tmp_path: Path
) -> None:
    """The graph works out each distinct (declaration, cost lines) once: every node
    still carries what its own resource's workload and cost lines give."""
    path = write_app(tmp_path / f"{draw}{n}.py", draw, n)
    blueprint = draw_blueprint(path)
    plan = _plan(blueprint, "aws")
    specs = {s.name: s for s in blueprint.resources}
    bindings = {b.resource: b for b in plan.bindings}
    checked = 0
    for node in plan_graph(blueprint, plan).nodes:
        if node.id in bindings and node.kind not in ("trigger", "instance"):
            part, used = assumed_cost(workload(specs[node.id]), bindings[node.id].cost)
            assert (node.assumed_monthly, node.defaults) == (part, used if part > 0 else ())
            checked += 1
    assert checked == len(bindings) > 0
