"""Proving in milliseconds that capacity cannot hold what must go on servers.

Some resources can only live on server backends (say every map asking
``read_latency="< 5ms"``: only Redis and PostgreSQL answer that fast), or
on servers and a dedicated backend whose count quota they could pass
(maps asking a durable store in < 10 ms: PostgreSQL, or DynamoDB's 2,500
tables per Region, :mod:`.count_rows`).  For every set ``T`` of such
backends, the units whose options all lie in ``T`` must fit the most
``T`` can hold.  A server holds its quota of instances of the largest
shape, per dimension; a counted backend holds, per pool (its quota in a
region, or over the account), ``room // each`` resources, ``each`` the
fewest one of them creates there, and nothing bounds it in any other
dimension.  So, with ``k[u]`` the resources of unit ``u``::

    Σ_{u : options(u) ⊆ T} k[u]  ≤  Σ_{s ∈ T} Q_s · max_k cap[s,k,resources]  +  Σ_{c ∈ T} most_c

    Σ_{u : options(u) ⊆ T} use[u,d]  −  absorbed_d  ≤  Σ_{s ∈ T} Q_s · max_k cap[s,k,d]

where ``absorbed_d`` is the most of dimension ``d`` the counted backends of
``T`` can take off the servers: their ``Σ most_c`` resources filled with
the units of largest ``use[u,d] / k[u]`` first (a fractional knapsack,
which no placement beats).  A quota counted in units (a class's
``quota_units``, a replica's node) holds at most
``Q_s · max_k cap[s,k,d] / units[s,k]``; servers sharing one quota count
it once, at the best of them.

If any such count fails, no plan exists (Hall's condition for the transport
of units into capacity), whatever the solver would try.  The check is a
pass over the units, then one sum per subset of the (few) backends of a
component (the knapsack: a pass over arrays); it runs before the pooled
relaxation and gives the numbers for the error.  aws ``profiles`` 100,000:
66,672 maps only RDS PostgreSQL or DynamoDB serve, against 40,000 on RDS's
instance quota and 2,500 tables.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct

from skaal.solver.decompose import SCALE, Unit
from skaal.solver.servers import Server

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from skaal.solver.count_rows import CountRows

__all__ = ["DIMENSION_WORDS", "CountedTerm", "Overflow", "overflow"]

#: How each capacity dimension is named in messages: (noun, unit).
DIMENSION_WORDS: tuple[tuple[str, str], ...] = (
    ("storage", "GB"),
    ("reads", "/s"),
    ("writes", "/s"),
    ("resources", ""),
)
#: The dimension counting resources (the one a count quota bounds).
_RESOURCES = len(DIMENSION_WORDS) - 1
#: Subsets are enumerated over at most this many backends of a component.
_MAX_SERVERS = 12


class CountedTerm(Struct, frozen=True):
    """What a dedicated backend's count quota lets the units hold there."""

    backend: str
    counted: str
    """What the quota counts: ``tables``, ``topics``."""
    rooms: tuple[tuple[str, int, int], ...]
    """(region, room, each) per pool the units could use: ``""`` for a quota over the
    account; its room (the quota less what the build reserves); the fewest one resource
    creates there."""

    @property
    def most(self) -> int:
        """The most resources the backend holds under this quota."""
        return sum(room // each for _, room, each in self.rooms)


class Overflow(Struct, frozen=True):
    """Units that only servers (and counted backends) can hold, and a dimension where
    they fall short."""

    servers: tuple[str, ...]
    members: tuple[str, ...]
    dimension: int
    demand: float
    """What the servers must hold in that dimension: the units' whole demand less what
    the counted backends take at most."""
    most: float
    """The most the servers can hold in that dimension (quota × largest instance); in
    resources, with what the counted backends hold."""
    terms: tuple[tuple[str, int, float, bool], ...]
    """(servers, quota, largest instance, counted in units) per quota of ``servers``:
    servers sharing one are joined by " or "; a quota counted in units (not
    instances) gives the most per unit instead of the largest instance."""
    counted: tuple[CountedTerm, ...] = ()
    """The dedicated backends whose count quotas bound them too."""

    @property
    def backends(self) -> tuple[str, ...]:
        """Every backend the units can be placed on, sorted."""
        return tuple(sorted((*self.servers, *(c.backend for c in self.counted))))


def overflow(
    part: Sequence[Unit], servers: Mapping[str, Server], rows: CountRows | None = None
) -> Overflow | None:
    """The first violated count of the module docstring (smallest backend sets first);
    ``rows``: the count pools the units could pass (:mod:`.count_rows`)."""
    # units by the backends they may use (units share their options tuples, alive in
    # ``part`` while their ids key ``seen``; the sets of backends are few)
    seen: dict[int, frozenset[str]] = {}
    by_backends: dict[frozenset[str], list[Unit]] = {}
    for unit in part:
        key = id(unit.options)
        backends = seen.get(key)
        if backends is None:
            backends = seen[key] = frozenset(o.backend for o in unit.options)
        by_backends.setdefault(backends, []).append(unit)
    counted = _counted(by_backends, rows) if rows is not None else {}
    containers = servers.keys() | counted.keys()
    index = {b: units for b, units in by_backends.items() if b and b <= containers}
    if not index:
        return None
    sets = list(index)
    # per set of backends, its units' usage summed per dimension (by columns, in C)
    sums = [[sum(column) for column in zip(*(u.usage for u in units), strict=True)]
            for units in index.values()]  # fmt: skip
    names = sorted(set().union(*sets))[:_MAX_SERVERS]
    per_unit = {name: _per_unit(servers[name]) for name in names if name in servers}
    absorb = _Absorber(list(index.values())) if counted else None
    for size in range(1, len(names) + 1):
        for subset in itertools.combinations(names, size):
            chosen = frozenset(subset)
            inside = [at for at, backends in enumerate(sets) if backends <= chosen]
            if not inside:
                continue
            on_servers = tuple(s for s in subset if s in servers)
            pools = tuple(counted[c] for c in subset if c in counted)
            held = sum(p.most for p in pools)
            for d in range(len(DIMENSION_WORDS)):
                if any(per_unit[s][d] is None for s in on_servers):
                    continue
                if d != _RESOURCES and not on_servers:
                    continue  # a counted backend bounds resources only
                terms = _terms(on_servers, servers, per_unit, d)
                most = sum(quota * best for _, quota, best, _ in terms)
                demand = float(sum(sums[at][d] for at in inside))
                if d == _RESOURCES:
                    most += held * SCALE
                slack = 1e-6 * max(most, SCALE)
                if demand <= most + slack:
                    continue  # held (what the pools take only lowers the demand)
                if d != _RESOURCES and pools and absorb is not None:
                    demand -= absorb.most(d, inside, held)
                    if demand <= most + slack:
                        continue
                members = (u for at in inside for u in index[sets[at]])
                return Overflow(
                    servers=on_servers,
                    members=tuple(sorted(m for u in members for m in u.members)),
                    dimension=d,
                    demand=demand / SCALE,
                    most=most / SCALE,
                    terms=tuple((s, q, best / SCALE, units) for s, q, best, units in terms),
                    counted=pools,
                )
    return None


class _Absorber:
    """The most of a dimension counted backends holding ``held`` resources take off the
    servers: the units of largest use per resource first, the last one in part."""

    def __init__(self, by_set: Sequence[Sequence[Unit]]) -> None:
        import numpy as np  # noqa: PLC0415 - loaded with HiGHS, which a counted part solves

        self._np = np
        self._usage = np.array([u.usage for units in by_set for u in units], dtype=np.float64)
        self._reach = np.repeat(np.arange(len(by_set)), [len(units) for units in by_set])
        self._sets = len(by_set)
        self._orders: dict[int, NDArray[np.int64]] = {}

    def most(self, d: int, inside: Sequence[int], held: int) -> float:
        """The most of dimension ``d`` the units of the sets ``inside`` can leave on ``held``
        resources' worth of counted backends (scaled)."""
        np = self._np
        order = self._orders.get(d)
        if order is None:
            per = self._usage[:, d] / self._usage[:, _RESOURCES]
            order = self._orders[d] = np.argsort(-per, kind="stable")
        allowed = np.zeros(self._sets, dtype=bool)
        allowed[list(inside)] = True
        mask = allowed[self._reach[order]]
        count = self._usage[order, _RESOURCES] * mask
        used = self._usage[order, d] * mask
        filled = np.cumsum(count)
        room = float(held * SCALE)
        cut = int(np.searchsorted(filled, room, side="right"))
        taken = float(used[:cut].sum())
        if cut < len(filled):  # the next unit in part
            before = float(filled[cut - 1]) if cut else 0.0
            taken += (room - before) / float(count[cut]) * float(used[cut])
        return taken


def _counted(
    by_backends: Mapping[frozenset[str], Sequence[Unit]], rows: CountRows
) -> dict[str, CountedTerm]:
    """Per counted backend the units (by the backends they may use) reach, its tightest
    count quota among those counting every one of them (none: it is left out, nothing
    bounds how many it holds)."""
    counting: dict[str, set[str]] = {}  # backend -> the quotas every unit reaching it is in
    fewest: dict[tuple[str, str], dict[str, int]] = {}  # (backend, quota) -> region -> each
    for backends, units in by_backends.items():
        for backend in sorted(backends & rows.backends):
            for unit in units:
                common: set[str] | None = None
                for member in unit.members:
                    here = [
                        (pool, n) for pool, n in rows.weights.get(member, {}).items()
                        if pool[0] == backend
                    ]  # fmt: skip
                    names = {pool[1] for pool, _ in here}
                    common = names if common is None else common & names
                    for pool, n in here:
                        regions = fewest.setdefault((backend, pool[1]), {})
                        regions[pool[2]] = min(regions.get(pool[2], n), n)
                assert common is not None  # a unit has members
                counting[backend] = counting[backend] & common if backend in counting else common
    out: dict[str, CountedTerm] = {}
    for backend, names in sorted(counting.items()):
        terms = [
            CountedTerm(
                backend,
                name,
                tuple(
                    (region, rows.rooms[(backend, name, region)], each)
                    for region, each in sorted(fewest[backend, name].items())
                ),
            )
            for name in sorted(names)
        ]
        if terms:
            out[backend] = min(terms, key=lambda t: (t.most, t.counted))
    return out


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
