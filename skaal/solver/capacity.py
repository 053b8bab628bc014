"""Proving in milliseconds that server capacity cannot hold what must go on servers.

Some resources can only live on server backends (say every map asking
``read_latency="< 5ms"``: only Redis and PostgreSQL answer that fast).  For
every set ``T`` of server backends, the units whose options all lie in ``T``
must fit the most those servers can hold: their quota of instances of the
largest shape, per dimension::

    Σ_{u : options(u) ⊆ T} use[u,d]  ≤  Σ_{s ∈ T} Q_s · max_k cap[s,k,d]

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
    terms: tuple[tuple[str, int, float], ...]
    """(server, quota, largest instance) per server of ``servers``."""


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
    largest = {name: servers[name].largest() for name in names}
    for size in range(1, len(names) + 1):
        for subset in itertools.combinations(names, size):
            chosen = frozenset(subset)
            members = [u for u, r in zip(only, reach, strict=True) if r <= chosen]
            if not members:
                continue
            for d in range(len(DIMENSION_WORDS)):
                caps = [largest[s][d] for s in subset]
                if any(c is None for c in caps):
                    continue
                most = sum(servers[s].quota * (c or 0) for s, c in zip(subset, caps, strict=True))
                demand = sum(u.usage[d] for u in members)
                if demand > most:
                    return Overflow(
                        servers=subset,
                        members=tuple(sorted(m for u in members for m in u.members)),
                        dimension=d,
                        demand=demand / SCALE,
                        most=most / SCALE,
                        terms=tuple(
                            (s, servers[s].quota, (c or 0) / SCALE)
                            for s, c in zip(subset, caps, strict=True)
                        ),
                    )
    return None
