"""What exporting traces costs: a line on each function's binding when the project asks.

``[tool.skaal] traces = true`` makes the cloud builds send every function's
spans to the provider's trace service (:mod:`skaal.builder.traces`): AWS
X-Ray through the ADOT layer, Google Cloud Trace over OTLP.  The planner is
told (``solve(..., traces=True)``, recorded as :attr:`Plan.traces
<skaal.plan.model.Plan.traces>`, so it enters the plan hash) and prices it
on each function's binding, from the invocation rate the function is
already priced at (declared ``invocations=``, its schedule, or the default):

==================  =====================================================
component           quantity
==================  =====================================================
per_million_traces  invocations per month / 1e6: X-Ray bills each trace
                    recorded, and each invocation is one trace (the ADOT
                    wrapper opens it; the function's spans join it)
per_million_spans   invocations per month x spans per invocation / 1e6:
                    Cloud Trace bills each span ingested
==================  =====================================================

Spans per invocation (:func:`spans_per_invocation`): the runtime opens one
span per invocation and one child span per storage or queue operation
(:mod:`skaal.runtime.tracing`).  The declarations say which resources a
function reaches (``uses``) but not how often, so each is counted as one
operation per invocation: ``1 + len(uses)``, an estimate the docs state.

The line costs the same on every placement of a function (one price per
backend, the same in every region), so it never changes which plan is
cheapest: it is added to the chosen binding like the inter-region transfer
(:mod:`skaal.solver.regions`) and to the totals the budget is checked
against.  A backend whose price has neither component (the local targets)
gets no line.  Free tiers (X-Ray's first 100,000 traces a month, Cloud
Trace's first 2.5 million spans) are not modelled, as for every price.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from skaal.blueprint.model import ResourceSpec
from skaal.catalog.model import Backend
from skaal.plan.model import CostLine
from skaal.solver.cost import SECONDS_PER_MONTH, money
from skaal.solver.problem import Problem

__all__ = ["TRACE_COMPONENTS", "spans_per_invocation", "trace_line", "traces_cost"]

TRACE_COMPONENTS: Final = ("per_million_traces", "per_million_spans")


def spans_per_invocation(spec: ResourceSpec) -> int:
    """The spans one invocation of a function sends: its own and one per resource it uses."""
    return 1 + len(spec.uses)


def trace_line(backend: Backend, spec: ResourceSpec, invocations_per_s: float) -> CostLine | None:
    """The monthly trace line of a function on ``backend`` (``None``: nothing priced)."""
    price = backend.price
    invocations = invocations_per_s * SECONDS_PER_MONTH / 1e6  # millions a month
    if invocations <= 0:
        return None
    if price.per_million_traces is not None:
        item, quantity = price.per_million_traces, invocations
        component = "per_million_traces"
    elif price.per_million_spans is not None:
        item, quantity = price.per_million_spans, invocations * spans_per_invocation(spec)
        component = "per_million_spans"
    else:
        return None
    return CostLine(component=component, quantity=quantity, monthly=money(item.amount * quantity))


def traces_cost(problem: Problem, backends: Mapping[str, str]) -> float:
    """The monthly trace lines of every function under ``backends`` (0 with traces off)."""
    if not problem.traces:
        return 0.0
    total = 0.0
    for res in problem.resources:
        if res.spec.kind == "function":
            backend = problem.catalog.backend(backends[res.spec.name])
            line = trace_line(backend, res.spec, res.workload.reads_per_s)
            if line is not None:
                total += line.monthly
    return total
