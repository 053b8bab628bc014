"""Proving in milliseconds that server capacity cannot hold what must go on servers.

Some resources can only live on server backends (say every map asking
``read_latency="< 5ms"``: only Redis and PostgreSQL answer that fast).  For
every set ``T`` of server backends, the units whose options all lie in ``T``
must fit the most those servers can hold: their quota of instances of the
largest shape, per dimension::

    Σ_{u : options(u) ⊆ T} use[u,d]  ≤  Σ_{s ∈ T} Q_s · max_k cap[s,k,d]

A quota counted in units (a class's ``quota_units``, a replica's node) holds
at most ``Q_s · max_k cap[s,k,d] / units[s,k]``; servers sharing one quota
count it once, at the best of them.

If any such count fails, no plan exists (Hall's condition for the transport
of units into capacity), whatever the solver would try.  The check is a
pass over the units per subset of the (few) servers in a component; it runs
before the pooled relaxation and gives the numbers for the error.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from msgspec import Struct

from skaal.solver.decompose import SCALE, Unit
from skaal.solver.servers import Server

__all__ = ["DIMENSION_WORDS", "Overflow", "overflow"]

#: How each capacity dimension is named in messages: (noun, unit).
DIMENSION_WORDS: tuple[tuple[str, str], ...] = (
    ("storage", "GB"),
    ("reads", "/s"),
    ("writes", "/s"),
    ("resources", ""),
)
#: Subsets are enumerated over at most this many servers of a component.
_MAX_SERVERS = 12


class Overflow(Struct, frozen=True):
    """Units that only servers can hold, and a dimension where those servers fall short."""

    servers: tuple[str, ...]
    members: tuple[str, ...]
    dimension: int
    demand: float
    most: float
    """The most the servers can hold in that dimension (quota × largest instance)."""
    terms: tuple[tuple[str, int, float, bool], ...]
    """(servers, quota, largest instance, counted in units) per quota of ``servers``:
    servers sharing one are joined by " or "; a quota counted in units (not
    instances) gives the most per unit instead of the largest instance."""


def overflow(part: Sequence[Unit], servers: Mapping[str, Server]) -> Overflow | None:
    """The first violated count of the module docstring (smallest server sets first)."""
    # Per options tuple, the servers it reaches if it reaches nothing else (None if it
    # does): units share their tuples, alive in ``part`` while their ids key this.
    reaches: dict[int, frozenset[str] | None] = {}
    only: list[Unit] = []
    reach: list[frozenset[str]] = []
    for unit in part:
        key = id(unit.options)
        if key in reaches:
            found = reaches[key]
        else:
            backends = frozenset(o.backend for o in unit.options)
            found = reaches[key] = backends if backends and backends <= servers.keys() else None
        if found is not None:
            only.append(unit)
            reach.append(found)
    if not only:
        return None
    names = sorted(set().union(*reach))[:_MAX_SERVERS]
    per_unit = {name: _per_unit(servers[name]) for name in names}
    for size in range(1, len(names) + 1):
        for subset in itertools.combinations(names, size):
            chosen = frozenset(subset)
            members = [u for u, r in zip(only, reach, strict=True) if r <= chosen]
            if not members:
                continue
            for d in range(len(DIMENSION_WORDS)):
                if any(per_unit[s][d] is None for s in subset):
                    continue
                terms = _terms(subset, servers, per_unit, d)
                most = sum(quota * best for _, quota, best, _ in terms)
                demand = sum(u.usage[d] for u in members)
                if demand > most:
                    return Overflow(
                        servers=subset,
                        members=tuple(sorted(m for u in members for m in u.members)),
                        dimension=d,
                        demand=demand / SCALE,
                        most=most / SCALE,
                        terms=tuple((s, q, best / SCALE, units) for s, q, best, units in terms),
                    )
    return None


def _per_unit(server: Server) -> tuple[float | None, ...]:
    """Per dimension, the most one unit of ``server``'s quota holds (``None``: unlimited):
    its largest instance when every instance counts one unit."""
    out: list[float | None] = []
    for d in range(len(DIMENSION_WORDS)):
        caps = [(shape.capacity[d], shape.units) for shape in server.shapes]
        out.append(None if any(c is None for c, _ in caps) else max((c or 0) / u for c, u in caps))
    return tuple(out)


def _terms(
    subset: Sequence[str],
    servers: Mapping[str, Server],
    per_unit: Mapping[str, tuple[float | None, ...]],
    d: int,
) -> list[tuple[str, int, float, bool]]:
    """(servers, quota, most per unit, counted in units) per quota of ``subset``."""
    keyed: dict[str, list[str]] = {}
    for name in subset:
        keyed.setdefault(servers[name].quota_key, []).append(name)
    terms = []
    for names in keyed.values():
        best = max(per_unit[s][d] or 0.0 for s in names)
        units = any(shape.units != 1 for s in names for shape in servers[s].shapes)
        terms.append((" or ".join(names), servers[names[0]].quota, best, units))
    return terms
