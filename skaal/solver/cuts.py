"""Cuts that keep the pooled relaxation from giving a server units its instances cannot hold.

The pooled relaxation (:mod:`.pooled`) counts each server's capacity in
sums; when the units its optimum gives a server do not fit that server's
instances one by one, the answer breaks a row every plan meets, and that
row is added (:class:`Core`, :class:`Count`):

- **Core.**  z3 names a few of the units (a core ``C``) that the instances
  cannot hold even alone (:func:`.exact.unheld`).  With ``n_k`` the
  instances of each shape ``k`` able to hold some unit of ``C``, every plan
  either runs more instances of one of those shapes or leaves some unit of
  ``C`` off the server::

      Σ_{g ∈ C} y[g,s] ≤ R + M · Σ_k z_k        (n_k + 1) · z_k ≤ n[s,k]     z_k ∈ {0, 1}

  ``y[g,s]`` the units of group ``g`` on the server (all its columns
  there), ``R = Σ_{g ∈ C} |g| − 1 − min_g (|g| − c_g)`` for ``c_g`` units
  of ``g`` in ``C`` (``|C| − 1`` when every group is one unit), ``M =
  Σ_{g ∈ C} |g|``: ``z_k`` may be 1 only where the server runs more than
  ``n_k`` instances of ``k``, which lifts the row.  Shapes able to hold no
  unit of ``C`` stay out of it: however many of them run, ``C`` does not
  fit (with them in, each round of the ``users`` draws merely added a small
  instance: 29 rounds where 4 now prove the plan).
- **Count.**  An instance of shape ``k`` holds at most ``h_k`` of the
  units the server could take, by counting (:func:`.exact.most_held`: the
  smallest usages that fit together, per dimension).  When the answer puts
  more units on the server than its instances hold so, every plan meets
  ``Σ_g y[g,s] ≤ Σ_k h_k · n[s,k]``, whatever the instance counts:
  one row, where cores would need one per count.

Every plan meets every cut, so the relaxation solved again with them still
bounds every plan, from higher up; when the units of its optimum fit their
instances, that plan costs the bound: proven cheapest.  This is a
logic-based Benders decomposition (the pooled relaxation the master
problem, each server's packing a subproblem, its unsatisfiable core the
cut); the loop that runs it is :func:`.optimise._cut_rounds`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct

from skaal.solver.decompose import Group, Unit
from skaal.solver.exact import most_held, unheld
from skaal.solver.servers import Server, Shape

if TYPE_CHECKING:
    from highspy._core import _Highs

__all__ = ["Core", "Count", "Cut", "Cuttable", "add_cuts", "cuts_for"]


class Core(Struct, frozen=True):
    """At most ``most`` units of the ``groups`` on ``server`` while it runs at most
    ``within`` instances."""

    server: str
    groups: tuple[int, ...]
    """Indices of the groups whose units the row counts."""
    most: int
    within: tuple[tuple[int, int], ...]
    """(shape index in the server's shapes, instances) of the shapes holding some unit of
    the groups."""


class Count(Struct, frozen=True):
    """At most ``Σ held_k · n[s,k]`` units of the ``groups`` on ``server``."""

    server: str
    groups: tuple[int, ...]
    held: tuple[tuple[int, int], ...]
    """(shape index in the server's shapes, most units one instance holds)."""


Cut = Core | Count


class Cuttable(Protocol):
    """What :func:`add_cuts` reads of the pooled relaxation's model
    (:class:`.pooled_model.PooledModel`)."""

    @property
    def placement(self) -> list[list[tuple[str, Shape | None, int]]]: ...

    @property
    def shapes(self) -> dict[str, list[tuple[Shape, int]]]: ...


def cuts_for(
    grouped: Sequence[Group],
    servers: Mapping[str, Server],
    counts: Sequence[Sequence[tuple[str, Shape | None, int]]],
    instances: Mapping[str, Sequence[tuple[Shape, int]]],
) -> list[Cut] | None:
    """The cuts a relaxation's answer (``counts`` per group, ``instances`` per server) breaks.

    ``[]`` when z3 places every server's units into its instances; ``None`` when
    it proves nothing for a server it cannot place (its work budget ran out).
    """
    found: list[Cut] = []
    for name in sorted(instances):
        server = servers[name]
        counted = dict(instances[name])
        members: list[tuple[int, Unit]] = []
        for index, (group, row) in enumerate(zip(grouped, counts, strict=True)):
            on = sum(n for backend, _, n in row if backend == name)
            members += [(index, unit) for unit in group.units[:on]]
        if not members:
            continue
        count = _count(grouped, server, name)
        if len(members) > sum(held * counted.get(server.shapes[k], 0) for k, held in count.held):
            found.append(count)
            continue
        slots = [shape for shape, n in instances[name] for _ in range(n)]
        cores = unheld([unit for _, unit in members], slots)
        if cores is None:
            return None
        for core in cores:
            taken: dict[int, int] = {}
            for u in core:
                taken[members[u][0]] = taken.get(members[u][0], 0) + 1
            sizes = {g: len(grouped[g].units) for g in taken}
            # Some group of the core keeps fewer of its units than the core has.
            most = sum(sizes.values()) - 1 - min(sizes[g] - c for g, c in taken.items())
            usages = [grouped[g].usage for g in taken]
            within = tuple(
                (k, counted.get(shape, 0))
                for k, shape in enumerate(server.shapes)
                if any(shape.holds(usage) for usage in usages)
            )
            found.append(Core(name, tuple(sorted(taken)), most, within))
    return found


def _count(grouped: Sequence[Group], server: Server, name: str) -> Count:
    """The :class:`Count` row of ``server`` over every unit that may go to it."""
    able = [g for g, group in enumerate(grouped) if name in {o.backend for o in group.options}]
    units = [unit for g in able for unit in grouped[g].units]
    held = tuple(
        (k, most_held(units, [shape])[0])
        for k, shape in enumerate(server.shapes)
        if any(shape.holds(unit.usage) for unit in units)
    )
    return Count(name, tuple(able), held)


def add_cuts(highs: _Highs, model: Cuttable, grouped: Sequence[Group], cuts: Sequence[Cut]) -> None:
    """The rows of ``cuts`` (and the Booleans ``z`` of the cores, one per server, shape and
    count, shared by the cores naming it) added to the model ``highs`` holds."""
    import numpy as np  # noqa: PLC0415 - numpy loads with HiGHS, only for a plan with pooled servers
    from highspy import _core  # noqa: PLC0415 - the core, not the wrapper (which prints a banner)

    booleans: dict[tuple[str, int, int], int] = {}
    for cut in cuts:
        columns = model.shapes[cut.server]
        index = [
            col
            for g in cut.groups
            for backend, _, col in model.placement[g]
            if backend == cut.server
        ]
        value = [1.0] * len(index)
        if isinstance(cut, Count):
            index += [columns[k][1] for k, _ in cut.held]
            value += [-float(held) for _, held in cut.held]
            highs.addRow(-np.inf, 0.0, len(index), np.array(index), np.array(value))
            continue
        total = float(sum(len(grouped[g].units) for g in cut.groups))
        for k, count in cut.within:
            key = (cut.server, k, count)
            z = booleans.get(key)
            if z is None:
                z = booleans[key] = highs.getNumCol()
                highs.addVar(0.0, 1.0)
                highs.changeColIntegrality(z, _core.HighsVarType.kInteger)
                row = np.array([z, columns[k][1]])
                highs.addRow(-np.inf, 0.0, 2, row, np.array([count + 1.0, -1.0]))
            index.append(z)
            value.append(-total)
        highs.addRow(-np.inf, float(cut.most), len(index), np.array(index), np.array(value))
