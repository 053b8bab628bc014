"""Count quotas as rows of the pooled relaxation, when its optimum passes one.

The optimiser prices each resource on its own, so a large app may place
more tables or queues on a dedicated backend than one account holds
(:mod:`.counts`).  Found after the optimisation, that costs a second one
(:func:`.counts.fit_counts`): at 100,000 resources as long as the first.
The pooled relaxation of step 4 can see it coming instead.

For every pool some of the resources' options count in (a backend's quota
in a region, or over the account) that those options could pass together,
:func:`count_rows` states its room (the quota less what the build
reserves) and what each resource creates there.  Such a backend then
couples the units able to use it as a server does: the units whose cheapest
option it is are optimised too, rather than placed there without a solver,
and they all fall in one component.  When that component's relaxation is
solved linear (a large one) and its optimum passes a pool, a row per pool
passed is added,

    Σ_g  n[g,pool] · y[g,b]  ≤  room        (b the pool's backend)

and the relaxation solved again from its basis (its bound is then the
bound of every plan within the quotas); rounding gives its remainders to
the other options first and brings each pool within its row; and the units
it does not place on the pool's backend lose that option for the rest of
the optimisation (:attr:`.pooled.Pooled.restricted`), as if
:mod:`.counts` had taken it away, so that no spill, exchange, trade or
close puts them back.  gcp ``users`` 100,000: 3,333 queues stay on Pub/Sub
in one optimisation, where :mod:`.counts` optimised twice.  When a pool is
still passed at the end (a component solved exactly, whose integer
programme has no such row), :func:`.counts.fit_counts` settles it as
before.  :func:`lost_options` finds, once the optimisation is done, the
resources it kept off a pool, whose reasons say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass

from skaal.solver.count_pools import Pool, Quotas, pool_of
from skaal.solver.decompose import Unit
from skaal.solver.mode_rows import ModeRows
from skaal.solver.problem import Problem

__all__ = ["CountRows", "count_rows", "lost_options"]


@dataclass(frozen=True, slots=True)
class CountRows:
    """The pools the optimisation's units could pass, and what each of them creates."""

    rooms: Mapping[Pool, int]
    """Per pool the units could pass: how many they may create there (the quota less
    what the build reserves)."""
    weights: Mapping[str, Mapping[Pool, int]]
    """Resource -> pool -> how many it creates there, for the pools of :attr:`rooms`."""
    backends: frozenset[str]
    """The backends of those pools."""
    provisioned: ModeRows | None = None
    """The quotas on provisioned capacity of those backends the units could pass: rows
    of the relaxation too (:mod:`.mode_rows`)."""

    def of(self, backend: str, members: Iterable[str]) -> dict[Pool, int]:
        """How many the unit of ``members`` creates in each pool of ``backend``."""
        out: dict[Pool, int] = {}
        for member in members:
            for pool, n in self.weights.get(member, {}).items():
                if pool[0] == backend:
                    out[pool] = out.get(pool, 0) + n
        return out

    def signature(self, unit: Unit) -> tuple[object, ...]:
        """What ``unit`` creates in every pool (and provisions in every quoted one): units
        alike here are interchangeable."""
        if len(unit.members) == 1:  # the common case, without the generator
            found = self.weights.get(unit.members[0])
            created: tuple[object, ...] = () if found is None else tuple(sorted(found.items()))
        else:
            created = tuple(
                sorted(
                    pool for member in unit.members for pool in self.weights.get(member, {}).items()
                )
            )
        if self.provisioned is None:
            return created
        return (*created, self.provisioned.signature(unit))


def count_rows(problem: Problem) -> CountRows | None:
    """The pools the resources able to use them could pass together (module docstring);
    ``None`` when there is none."""
    quotas = Quotas(problem)
    if not quotas.by_backend:
        return None
    potential: dict[Pool, int] = {}
    weights: dict[str, dict[Pool, int]] = {}
    for res in problem.resources:
        for option in res.options:
            for quota in quotas.on(option.backend):
                n = quotas.units(quota, res.spec)
                if n:
                    pool = pool_of(problem, quota, option)
                    weights.setdefault(res.spec.name, {})[pool] = n
                    potential[pool] = potential.get(pool, 0) + n
    rooms = {
        pool: quotas.of(pool)[1].room
        for pool, n in potential.items()
        if n > quotas.of(pool)[1].room
    }
    if not rooms:
        return None
    kept = {
        name: {pool: n for pool, n in pools.items() if pool in rooms}
        for name, pools in weights.items()
        if not rooms.keys().isdisjoint(pools)
    }
    return CountRows(rooms, kept, frozenset(pool[0] for pool in rooms))


def lost_options(
    all_units: Sequence[Unit],
    placement: Mapping[str, Sequence[Unit]],
    counted: frozenset[str],
    servers: Set[str],
) -> dict[str, str]:
    """Each resource whose unit lost its option on a ``counted`` backend (the relaxation
    kept that backend's count quota by placing it elsewhere; not one a cheaper dedicated
    option dominated) → that backend, for its reason.  ``all_units``: the units before
    the optimisation; ``placement``: where it put them; ``servers``: the server backends."""
    if not counted:
        return {}
    able = {u.name: u.options for u in all_units if any(o.backend in counted for o in u.options)}
    out: dict[str, str] = {}
    for backend in sorted(placement):
        for unit in placement[backend]:
            before = able.get(unit.name)
            if before is None or before is unit.options:
                continue
            now = {o.backend for o in unit.options}
            gone = next((o for o in before if o.backend in counted and o.backend not in now), None)
            if gone is None or backend == gone.backend:
                continue
            if any(
                o.cost <= gone.cost and o.backend not in servers and o.backend not in counted
                for o in before
            ):
                continue  # a cheaper dedicated option dominated it (.decompose.prune)
            out.update(dict.fromkeys(unit.members, gone.backend))
    return out
