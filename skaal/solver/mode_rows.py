"""Which quotas on provisioned capacity the pooled relaxation states, and each table's part.

One account provisions at most so many read and write units per Region
(:mod:`.quota_tables`).  The optimiser prices each table in its cheapest
mode on its own, so a large app's relaxation may provision far more than
the quota: :mod:`.mode_quotas` then moves tables to their next mode after
the optimisation, and bounded every plan within the quota by a Lagrangian
bound that solves the whole linear relaxation again (0.4 s of the 2.5 s
``skaal plan`` of the aws ``users`` draw of 10,000 resources).

Where the relaxation already holds the tables' backend as a coupled pool
(its count quota couples the units able to use it: :mod:`.count_rows`), the
quota can be rows of that relaxation instead (:mod:`.quota_bound`).
:func:`mode_rows` names the quoted pools those units could pass together
and, per resource, the table it would provision there: its read and write
units and what it costs more in its cheapest other mode.  Units of one
component alike in their options are told apart by those tables
(:meth:`ModeRows.signature`), so that a group's units take the same units.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from skaal.solver.decompose import SCALE, Unit
from skaal.solver.problem import Problem
from skaal.solver.quota_tables import ModePool, Tables, mode_named, mode_pool, quoted_modes

__all__ = ["ModeRows", "QuotedTable", "mode_rows"]


@dataclass(frozen=True, slots=True)
class QuotedTable:
    """One resource's table provisioned on a quoted pool."""

    pool: ModePool
    reads: int
    writes: int
    extra: int | None
    """What the resource costs more on the backend in its cheapest other mode
    (micro-dollars a month); ``None``: it has none (it stays provisioned)."""


@dataclass(frozen=True, slots=True)
class ModeRows:
    """The pools of provisioned capacity the coupled units could pass, and their tables."""

    rooms: Mapping[ModePool, tuple[float, float]]
    """Per pool the units could pass: its read and write units (``inf``: no quota)."""
    tables: Mapping[str, Mapping[str, QuotedTable]]
    """Resource -> backend -> its table there, on a pool of :attr:`rooms`."""

    def of(self, backend: str, members: tuple[str, ...]) -> list[QuotedTable]:
        """The tables the members of a unit provision on ``backend`` (none for most)."""
        found = (self.tables.get(member) for member in members)
        return [tables[backend] for tables in found if tables is not None and backend in tables]

    def signature(self, unit: Unit) -> tuple[tuple[str, QuotedTable], ...]:
        """What ``unit`` provisions on each backend: units alike here are interchangeable."""
        found = (self.tables.get(member) for member in unit.members)
        return tuple(
            sorted(
                (item for tables in found if tables is not None for item in tables.items()),
                key=lambda item: (item[0], item[1].pool, item[1].reads, item[1].writes),
            )
        )


def mode_rows(problem: Problem, backends: Iterable[str]) -> ModeRows | None:
    """The quoted pools of ``backends`` (those the relaxation couples) the resources able
    to use them could pass together; ``None`` when there is none."""
    quoted = {b.name: b for b in problem.catalog.backends if b.name in backends and quoted_modes(b)}
    if not quoted:
        return None
    known = Tables(quoted)
    tables: dict[str, dict[str, QuotedTable]] = {}
    asked: dict[ModePool, list[int]] = {}
    for res in problem.resources:
        for option in res.options:
            pool = mode_pool(problem, quoted, option)
            if pool is None:
                continue
            table = known.of(res, pool)
            extra = (
                None
                if table.fallback is None
                else round(table.fallback[1] * SCALE) - round(option.cost * SCALE)
            )
            tables.setdefault(res.spec.name, {})[option.backend] = QuotedTable(
                pool, table.reads, table.writes, extra
            )
            total = asked.setdefault(pool, [0, 0])
            total[0] += table.reads
            total[1] += table.writes
    rooms: dict[ModePool, tuple[float, float]] = {}
    for pool, (reads, writes) in asked.items():
        mode = mode_named(quoted[pool[0]], pool[1])
        room = (_room(mode.quota_read_units), _room(mode.quota_write_units))
        if reads > room[0] or writes > room[1]:
            rooms[pool] = room
    if not rooms:
        return None
    kept = {
        name: {backend: t for backend, t in found.items() if t.pool in rooms}
        for name, found in tables.items()
        if any(t.pool in rooms for t in found.values())
    }
    return ModeRows(rooms, kept)


def _room(quota: int | None) -> float:
    return math.inf if quota is None else float(quota)
