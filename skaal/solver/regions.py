"""Where a function runs, and what it pays to reach data in another region.

**Functions follow their data.**  A catalog prices a backend the same in
every region it lists (its figures are one region's list prices, the others
differ by a few percent), so where a function runs changes its own cost by
nothing -- but reaching data in another region costs transfer and latency.
A function that declares no ``residency`` (on a cloud catalog) is therefore
placed in the region, among those its backend offers, that moves the fewest
gigabytes across regions to and from the data it ``uses``: with one data
region, that region.  Ties keep the region the filter chose (the catalog's
default region when offered), then the backend's order of regions.  Data is
placed first and never moves for a function: its region follows its own
residency and backend (:func:`skaal.solver.checks.choose_region`).  A
function with a declared residency stays in it, whatever it costs.

**Transfer.**  When a function and a resource it uses sit in different
regions, every byte between them crosses regions and is billed per GB (by
the sending region; both directions are billed, so reads and writes count
alike).  The volume is a documented rule on the declared traffic:

=====================  ================================================
kind used              GB per month
=====================  ================================================
map, collection        (reads/s + writes/s) x 2,628,000 x 4,000 bytes
blob                   (reads/s + writes/s) x 2,628,000 x 100,000 bytes
queue, topic           messages/s x 2 x 2,628,000 x 1,000 bytes
                       (each message sent once and delivered once)
=====================  ================================================

divided by 1e9 and shared evenly among the functions that use the resource
(its declared traffic is all of theirs together).  Rates are the resource's
workload (:func:`skaal.solver.cost.workload`, defaults included); the item
sizes cannot be declared and are defaults (:data:`ITEM_BYTES`), so a
transfer line is always marked as resting on a default.  The function's
binding then carries one :class:`~skaal.plan.model.Transfer` per resource
reached across regions and a cost line ``inter_region_per_gb`` priced at
its backend's catalog figure (none when the catalog has no such price).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from msgspec import Struct

from skaal.blueprint.model import Kind
from skaal.plan.model import CostLine, Transfer
from skaal.solver.cost import MESSAGE_BYTES, SECONDS_PER_MONTH, money, workload
from skaal.solver.problem import Option, Problem, chosen_options

__all__ = ["ITEM_BYTES", "TRANSFER_COMPONENT", "Placement", "place_functions", "transfer_gb"]

#: The cost-line component (and catalog price component) of inter-region transfer.
TRANSFER_COMPONENT: Final = "inter_region_per_gb"

#: Bytes each read or write moves, per kind used (not declarable: defaults).
ITEM_BYTES: Final[Mapping[Kind, float]] = {
    "map": 4000.0,
    "collection": 4000.0,
    "blob": 100_000.0,
    "queue": MESSAGE_BYTES,
    "topic": MESSAGE_BYTES,
}


class Placement(Struct, frozen=True):
    """Each resource's region, and each function's transfers and transfer line."""

    regions: Mapping[str, str]
    transfers: Mapping[str, tuple[Transfer, ...]]
    lines: Mapping[str, CostLine]
    """Function -> its ``inter_region_per_gb`` line (only where the price exists)."""

    def cost(self) -> float:
        return money(sum(line.monthly for line in self.lines.values()))


def transfer_gb(problem: Problem) -> dict[tuple[str, str], float]:
    """(function, data resource) -> GB a month between them if they were in two regions."""
    specs = {r.spec.name: r for r in problem.resources}
    users: dict[str, list[str]] = {}
    for res in problem.resources:
        if res.spec.kind == "function":
            for used in res.spec.uses:
                if used in specs and specs[used].spec.kind in ITEM_BYTES:
                    users.setdefault(used, []).append(res.spec.name)
    out: dict[tuple[str, str], float] = {}
    for used, functions in users.items():
        spec = specs[used].spec
        load = workload(spec)
        if spec.kind in ("queue", "topic"):
            moves = 2 * load.writes_per_s  # sent once, delivered once
        else:
            moves = load.reads_per_s + load.writes_per_s
        gb = moves * SECONDS_PER_MONTH * ITEM_BYTES[spec.kind] / 1e9 / len(functions)
        for function in functions:
            out[(function, used)] = gb
    return out


def place_functions(
    problem: Problem, backends: Mapping[str, str], chosen: Sequence[Option] | None = None
) -> Placement:
    """The region of every resource under ``backends`` (resource -> backend); ``chosen``:
    each resource's option there, when the caller has them (:func:`chosen_options`)."""
    catalog = problem.catalog
    if chosen is None:
        chosen = chosen_options(problem, backends)
    default = catalog.region
    regions = {
        res.spec.name: option.region or default
        for res, option in zip(problem.resources, chosen, strict=True)
    }
    if catalog.provider == "local":
        return Placement(regions=regions, transfers={}, lines={})
    volumes = transfer_gb(problem)
    reached: dict[str, list[tuple[str, float]]] = {}
    for (function, used), gb in sorted(volumes.items()):
        reached.setdefault(function, []).append((used, gb))
    transfers: dict[str, tuple[Transfer, ...]] = {}
    lines: dict[str, CostLine] = {}
    by_name = {r.spec.name: r for r in problem.resources}
    for function, uses in reached.items():
        res = by_name[function]
        entry = catalog.backend(backends[function])
        if res.spec.requirements.residency is None:
            current = regions[function]
            offered = entry.regions or (catalog.region,)
            candidates = (current, *(r for r in offered if r != current))
            regions[function] = min(
                candidates,
                key=lambda c: sum(gb for used, gb in uses if regions[used] != c),
            )
        here = regions[function]
        crossing = tuple(
            Transfer(resource=used, region=regions[used], gb_month=round(gb, 6))
            for used, gb in uses
            if regions[used] != here and gb > 0
        )
        if not crossing:
            continue
        transfers[function] = crossing
        price = entry.price.inter_region_per_gb
        if price is not None:
            quantity = round(sum(t.gb_month for t in crossing), 6)
            lines[function] = CostLine(
                component=TRANSFER_COMPONENT,
                quantity=quantity,
                monthly=money(price.amount * quantity),
            )
    return Placement(regions=regions, transfers=transfers, lines=lines)
