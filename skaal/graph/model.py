"""The plan as a graph: what ``skaal plan --graph`` draws and the dashboard shows.

:func:`plan_graph` reads a Blueprint and the Plan made from it and returns a
:class:`PlanGraph` -- plain frozen records, no I/O:

* a **node** per declared resource (functions, maps, collections, blobs,
  queues, topics, secrets), with the backend, region and monthly cost of its
  binding; a node per **shared instance** (``postgres#1``) with its fixed
  fee; a node per **trigger** a function has besides its resources (an HTTP
  route, a schedule);
* an **edge** for each use a function declares (``uses``: the function reads
  or writes the resource), each consumer (``consumes``: queue → function),
  each subscriber (``subscribes``: topic → function), each trigger
  (``http``/``schedule`` → function) and each resource placed on a shared
  instance (``on``: resource → instance).

A node is *defaulted* when part of its monthly cost rests on workload
defaults -- a size, a rate, a memory left undeclared -- exactly the lines
``skaal plan`` marks with ``*`` (:func:`skaal.solver.cost.assumed_cost`):
``defaults`` names them and ``assumed_monthly`` is that part.  The pictures
highlight those nodes: declaring the workload makes their figure true.

Nodes are laid out in four columns -- triggers, functions, state, shared
instances -- in declaration-independent name order, so the same plan always
gives the same picture (:mod:`skaal.graph.svg` draws it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

from msgspec import Struct
from msgspec.structs import asdict

from skaal.solver.cost import assumed_costs

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint, ResourceSpec
    from skaal.plan.model import Plan

__all__ = ["COLUMNS", "EdgeKind", "GraphEdge", "GraphNode", "PlanGraph", "plan_graph"]

NodeKind = Literal[
    "function", "map", "collection", "blob", "queue", "topic", "secret", "instance", "trigger"
]
EdgeKind = Literal["uses", "consumes", "subscribes", "http", "schedule", "on"]

COLUMNS: Final = ("triggers", "functions", "state", "instances")
"""The columns of the layout, left to right."""


class GraphNode(Struct, frozen=True):
    """One box of the picture."""

    id: str
    kind: NodeKind
    label: str
    column: int
    """Index into :data:`COLUMNS`."""
    backend: str | None = None
    region: str | None = None
    monthly_cost: float | None = None
    status: str | None = None
    """The binding's status (chosen, kept, pinned); ``None`` for an instance or a trigger."""
    defaulted: bool = False
    defaults: tuple[str, ...] = ()
    """The undeclared quantities its cost rests on (``size``, ``reads``, ...)."""
    assumed_monthly: float = 0.0
    detail: str = ""
    """One line under the label: a schedule's expression, an instance's class."""


class GraphEdge(Struct, frozen=True):
    """One arrow: ``source`` → ``target``."""

    source: str
    target: str
    kind: EdgeKind


class PlanGraph(Struct, frozen=True):
    """The nodes and edges of a plan, with the totals the picture prints."""

    app: str
    provider: str
    catalog: str
    region: str
    total_monthly_cost: float
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]
    network_monthly_cost: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the dashboard's ``/_skaal/api/plan`` ``graph``).

        Every field, the nodes and edges as dicts of theirs: msgspec's
        ``asdict`` is shallow, and every value is immutable, so no copy is made
        (the deep copy :func:`dataclasses.asdict` made took over a second for a
        10,000-resource plan).
        """
        data = asdict(self)
        data["nodes"] = tuple(asdict(node) for node in self.nodes)
        data["edges"] = tuple(asdict(edge) for edge in self.edges)
        return data


_KIND_ORDER: Final = {"function": 0, "map": 1, "collection": 2, "blob": 3, "queue": 4, "topic": 5}


def plan_graph(blueprint: Blueprint, plan: Plan) -> PlanGraph:
    """The graph of ``plan``, the plan made from ``blueprint`` (see the module docstring)."""

    bindings = {b.resource: b for b in plan.bindings}
    specs = sorted(
        blueprint.resources, key=lambda s: (_KIND_ORDER.get(s.kind, 9), s.name.lower(), s.name)
    )
    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    assumed_of = assumed_costs()
    for spec in specs:
        binding = bindings.get(spec.name)
        assumed: float = 0.0
        defaults: tuple[str, ...] = ()
        if binding is not None:
            assumed, defaults = assumed_of(spec, binding.cost)
        nodes.append(
            GraphNode(
                id=spec.name,
                kind=spec.kind,
                label=spec.name,
                column=1 if spec.kind == "function" else 2,
                backend=None if binding is None else binding.backend,
                region=None if binding is None else binding.region,
                monthly_cost=None if binding is None else binding.monthly_cost,
                status=None if binding is None else binding.status,
                defaulted=assumed > 0,
                defaults=defaults if assumed > 0 else (),
                assumed_monthly=assumed,
            )
        )
        if spec.kind == "function":
            nodes_edges = _function_edges(spec)
            nodes.extend(nodes_edges[0])
            edges.extend(nodes_edges[1])
    for instance in sorted(plan.instances, key=lambda i: i.id):
        nodes.append(
            GraphNode(
                id=instance.id,
                kind="instance",
                label=instance.id,
                column=3,
                backend=instance.backend,
                region=plan.region,
                monthly_cost=instance.fixed_monthly,
                detail=instance.instance_class
                + (f" + {instance.replicas} replica(s)" if instance.replicas else ""),
            )
        )
        edges.extend(GraphEdge(name, instance.id, "on") for name in sorted(instance.resources))
    return PlanGraph(
        app=plan.app,
        provider=plan.provider,
        catalog=plan.catalog,
        region=plan.region,
        total_monthly_cost=plan.total_monthly_cost,
        nodes=tuple(nodes),
        edges=tuple(edges),
        network_monthly_cost=round(sum(line.monthly for line in plan.network), 6),
    )


def _function_edges(spec: ResourceSpec) -> tuple[list[GraphNode], list[GraphEdge]]:
    nodes: list[GraphNode] = []
    edges: list[GraphEdge] = []
    if spec.http:
        trigger = f"http:{spec.name}"
        nodes.append(
            GraphNode(id=trigger, kind="trigger", label="HTTP", column=0, detail=f"/fn/{spec.name}")
        )
        edges.append(GraphEdge(trigger, spec.name, "http"))
    if spec.schedule is not None:
        trigger = f"schedule:{spec.name}"
        nodes.append(
            GraphNode(
                id=trigger, kind="trigger", label="schedule", column=0, detail=str(spec.schedule)
            )
        )
        edges.append(GraphEdge(trigger, spec.name, "schedule"))
    if spec.consumes is not None:
        edges.append(GraphEdge(spec.consumes, spec.name, "consumes"))
    if spec.subscribes is not None:
        edges.append(GraphEdge(spec.subscribes, spec.name, "subscribes"))
    edges.extend(GraphEdge(spec.name, used, "uses") for used in sorted(set(spec.uses)))
    edges.extend(GraphEdge(spec.name, secret, "uses") for secret in sorted(set(spec.secrets)))
    return nodes, edges
