"""Regions and inter-region transfer, the oracle's second statement of the rule.

Written from the docstring of ``skaal/solver/regions.py`` without its code.

A resource on a backend lives in the catalog's default region when the
backend offers it (and, on a cloud catalog, it meets a declared residency),
else in the backend's first region meeting the residency (the first region
at all on the ``local`` provider, where residency is not checked).

A function on a cloud catalog that declares no residency and uses data (a
map, collection, blob, queue or topic of the app) moves: of its own region
and then its backend's regions in catalog order, the first that exchanges
the fewest GB a month with data in other regions.  GB a month between a
function and a resource it uses::

    map, collection     (reads + writes) x 2,628,000 x 4,000 bytes / 1e9
    blob                (reads + writes) x 2,628,000 x 100,000 bytes / 1e9
    queue, topic        2 x messages x 2,628,000 x 1,000 bytes / 1e9

shared evenly among the app's functions using that resource.  A function
pays its backend's ``inter_region_per_gb`` times the GB it exchanges with
the resources it uses in another region (nothing without that price).

The oracle does not optimise over the transfer: it adds it to the solution
its programme finds.  Backends of one bundled catalog list the same regions,
so the regions (and the transfer) do not depend on which backends are
chosen; a catalog whose backends list different regions could make the two
differ.
"""

from __future__ import annotations

from collections.abc import Mapping

from skaal.blueprint.model import Blueprint, ResourceSpec
from solver.oracle_catalog import CatalogData, Entry
from solver.oracle_rules import FAMILIES, SECONDS_PER_MONTH, load_of

__all__ = ["home_region", "regions_and_transfer"]

_BYTES = {
    "map": 4000.0,
    "collection": 4000.0,
    "blob": 100_000.0,
    "queue": 1000.0,
    "topic": 1000.0,
}


def _fits(residency: str | None, region: str) -> bool:
    if residency is None:
        return True
    return region == residency or region.startswith(FAMILIES.get(residency, ("\0",)))


def home_region(spec: ResourceSpec, entry: Entry, catalog: CatalogData) -> str:
    """The region ``spec`` lives in on backend ``entry`` (before a function moves)."""
    residency = None if catalog.provider == "local" else spec.requirements.residency
    if catalog.region in entry.regions and _fits(residency, catalog.region):
        return catalog.region
    return next(r for r in entry.regions if _fits(residency, r))


def regions_and_transfer(
    blueprint: Blueprint, catalog: CatalogData, backends: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, float]]:
    """Each resource's region, and each function's monthly transfer cost (where it pays one)."""
    entries = {e.name: e for e in catalog.backends}
    specs = {s.name: s for s in blueprint.resources}
    region = {
        s.name: home_region(s, entries[backends[s.name]], catalog) for s in blueprint.resources
    }
    cost: dict[str, float] = {}
    if catalog.provider == "local":
        return region, cost
    functions = [s for s in blueprint.resources if s.kind == "function"]
    sharing: dict[str, int] = {}
    for f in functions:
        for used in f.uses:
            if used in specs and specs[used].kind in _BYTES:
                sharing[used] = sharing.get(used, 0) + 1
    for f in functions:
        gb: dict[str, float] = {}
        for used in f.uses:
            if used not in sharing:
                continue
            spec = specs[used]
            load = load_of(spec)
            moves = (
                2 * load.writes_per_s
                if spec.kind in ("queue", "topic")
                else load.reads_per_s + load.writes_per_s
            )
            gb[used] = moves * SECONDS_PER_MONTH * _BYTES[spec.kind] / 1e9 / sharing[used]
        if not gb:
            continue
        entry = entries[backends[f.name]]
        if f.requirements.residency is None:
            best, least = region[f.name], None
            for candidate in (region[f.name], *entry.regions):
                crossing = sum(v for u, v in gb.items() if region[u] != candidate)
                if least is None or crossing < least:
                    best, least = candidate, crossing
            region[f.name] = best
        crossing = sum(round(v, 6) for u, v in gb.items() if region[u] != region[f.name])
        price = entry.price.get("inter_region_per_gb")
        if crossing > 0 and price is not None:
            cost[f.name] = price * crossing
    return region, cost
