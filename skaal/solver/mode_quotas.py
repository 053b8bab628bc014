"""A provider's regional quota on what one account provisions in a capacity mode.

DynamoDB lets one account provision at most 80,000 read and 80,000 write
capacity units per Region, every provisioned table and its indexes together
(``quota_read_units`` and ``quota_write_units`` of the catalog's mode); a
plan past it cannot be deployed: creating the next table fails.  On-demand
tables are not counted.  A collection's indexes are each provisioned the
table's units, so a collection with ``n`` indexes takes ``1 + n`` times them
(times the price's ``index_copies`` factor, 1 on DynamoDB, as it is billed).
The optimiser prices each resource in its cheapest mode on its own, so a
large app's provisioned tables may together pass the quota (the aws
``users`` draw of 1,000 resources, seed 1, provisioned 444,311 write units
in us-east-1).

:func:`fit_mode_quotas` settles that after the optimisation, per backend,
mode and Region: it keeps provisioned the tables saving the most against
their next cheapest mode within the quota, and moves the others to that
mode (on-demand), on the same backend.  Which tables stay is a knapsack of
two rows (read and write units), solved by HiGHS within a node limit, never
a time limit (:func:`_kept`): the same inputs keep the same tables.

Moving a table to another backend instead (a database instance) is not
searched, so a plan that needed the fit is ``best_found`` unless proven.
Its lower bound is the larger of the optimum found without the quota (every
plan within it costs at least that) and the bound of the relaxation solved
with the quotas as rows where the optimiser kept one (:mod:`.quota_bound`:
a component coupling the tables' backend), else a Lagrangian bound
(:func:`_lagrangian`, which solves the whole linear relaxation again).
When no resource of the pools has another backend or a co-located peer,
only their modes can change: the optimum without the quota plus what the
knapsacks lose at least is then a bound, which proves the plan when it
meets it.  A plan within every quota is left exactly as it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from msgspec.structs import replace

from skaal.catalog.model import Backend, Mode
from skaal.solver.assemble import total_cost
from skaal.solver.highs import highs_holding
from skaal.solver.optimise import Assignment, floor
from skaal.solver.problem import Option, Problem, ResourceOptions, chosen_options
from skaal.solver.quota_tables import (
    ModePool,
    Table,
    Tables,
    mode_named,
    mode_pool,
    quoted_modes,
)
from skaal.solver.sparse import Columns

__all__ = ["MAX_NODES", "MAX_SEARCHED", "QuotaFit", "fit_mode_quotas"]

#: How far a knapsack's proven bound may stay from its best choice (dollars a month).
_HALF_CENT = 0.005

#: HiGHS's branch-and-bound node limit for one knapsack (work, never seconds).
MAX_NODES = 200

#: The most tables whose knapsack is searched: past it the rounded relaxation alone
#: (two tables' savings at most from the optimum, a small share of so many: on the
#: aws ``users`` draw of 10,000, 2,364 tables, it saves $1.03 a month less than the
#: search, of $64,823.55, where the search takes 2.4 s).
MAX_SEARCHED = 200


@dataclass(frozen=True, slots=True)
class QuotaFit:
    """The resources moved out of a mode to keep a Region within its quota."""

    options: Mapping[str, ResourceOptions]
    """Resource name -> its options with the moved backend priced in its new mode."""
    lower_bound: float
    """A proven lower bound on every plan within the quotas."""
    proven: bool
    """The bound meets the plan's total: it is the cheapest within the quotas."""
    notes: Mapping[str, str] = field(default_factory=dict)
    """Resource name -> what its reason adds: why it left the mode."""

    def apply(self, problem: Problem) -> Problem:
        """``problem`` with the moved resources' options (resources absent are left)."""
        return replace(
            problem,
            resources=tuple(self.options.get(r.spec.name, r) for r in problem.resources),
        )

    def assignment(self, assignment: Assignment) -> Assignment:
        """``assignment`` with what is proven of it within the quotas."""
        if self.proven:
            return replace(assignment, proven=True, lower_bound=None)
        return replace(assignment, proven=False, lower_bound=self.lower_bound)


def fit_mode_quotas(
    problem: Problem, assignment: Assignment, *, unrestricted: Problem | None = None
) -> QuotaFit | None:
    """The resources to move so every Region stays within its modes' quotas, or ``None``
    when it already does (the assignment is then left exactly as it is).

    A resource with no other mode within the backend's per-resource quotas stays;
    when those alone pass the quota, ``UnsatisfiableError`` names them.
    ``unrestricted``: ``problem`` before options were taken away by a choice (to keep
    within a count quota, :mod:`.counts`), which a lower bound must start from."""
    quoted = {b.name: b for b in problem.catalog.backends if quoted_modes(b)}
    if not quoted:
        return None
    chosen = chosen_options(problem, assignment.backends)
    pools: dict[ModePool, list[tuple[ResourceOptions, Option]]] = {}
    for res, option in zip(problem.resources, chosen, strict=True):
        pool = mode_pool(problem, quoted, option)
        if pool is not None:
            pools.setdefault(pool, []).append((res, option))
    tables = Tables(quoted)
    moved: dict[str, ResourceOptions] = {}
    notes: dict[str, str] = {}
    prices: dict[ModePool, tuple[float, float]] = {}
    alone = True  # every resource moved or kept has no other backend and no peer
    least_lost = 0.0  # what every choice within the quotas loses at least (the knapsacks)
    for pool, members in sorted(pools.items()):
        mode = mode_named(quoted[pool[0]], pool[1])
        found = [(res.spec.name, tables.of(res, pool)) for res, _ in members]
        if _within([t for _, t in found], mode):
            continue
        fixed = [(name, t) for name, t in found if t.fallback is None]
        if not _within([t for _, t in fixed], mode):
            from skaal.solver import conflicts  # noqa: PLC0415 - only a failure needs it

            units = (sum(t.reads for _, t in fixed), sum(t.writes for _, t in fixed))
            raise conflicts.mode_quota(
                problem,
                backend=quoted[pool[0]],
                mode=mode,
                region=pool[2],
                names=[name for name, _ in fixed],
                units=units,
            )
        kept, prices[pool], lost = _kept(found, mode)
        alone = alone and all(_alone(problem, res) for res, _ in members)
        least_lost += lost
        note = _note(pool, mode, [t for _, t in found], len(kept))
        for (res, option), (name, table) in zip(members, found, strict=True):
            if name not in kept and table.fallback is not None:
                moved[name] = _priced(res, option.backend, *table.fallback)
                notes[name] = note
    if not moved:
        return None
    if assignment.proven:
        found_bound = total_cost(problem, assignment, chosen)
        if alone:  # the knapsacks are all that changes: they add at least what they lose
            found_bound += least_lost
    else:
        found_bound = _known(assignment.lower_bound)
    total = total_cost(QuotaFit(moved, found_bound, proven=False).apply(problem), assignment)
    bound = found_bound
    # The relaxation's own bound within the quotas (.quota_bound), for this very problem
    # (not one a count quota restricted after its optimisation: .counts)
    within = assignment.within_quotas if unrestricted is None or unrestricted is problem else None
    if bound < total - _HALF_CENT:  # not proven yet: the relaxation's own, or the Lagrangian
        held = None if within is None else within()
        if held is None:
            held = _lagrangian(unrestricted or problem, quoted, tables, prices)
        bound = max(bound, held)
    # within the knapsacks' half a cent of the plan: no plan within the quotas is cheaper
    return QuotaFit(moved, min(bound, total), bound >= total - _HALF_CENT, notes)


def _note(pool: ModePool, mode: Mode, tables: Sequence[Table], kept: int) -> str:
    """Why a table of ``pool`` left ``mode``, for its reason."""
    backend, name, region = pool
    passed = [
        f"{quota:,} {word} units"
        for word, quota, asked in (
            ("read", mode.quota_read_units, sum(t.reads for t in tables)),
            ("write", mode.quota_write_units, sum(t.writes for t in tables)),
        )
        if quota is not None and asked > quota
    ]
    return (
        f"; not {name}: the {len(tables):,} tables cheapest {name} on {backend} in "
        f"{region} would pass what one account may provision there "
        f"({' and '.join(passed)}); the {kept:,} saving the most stay {name}"
    )


def _alone(problem: Problem, res: ResourceOptions) -> bool:
    """Whether ``res`` has one backend only and no co-located peer: its place is fixed, so
    only its mode depends on the others."""
    name = res.spec.name
    return len(res.options) == 1 and not any(name in pair for pair in problem.collocations)


def _within(tables: Sequence[Table], mode: Mode) -> bool:
    """Whether ``tables`` provisioned together stay within ``mode``'s regional quota."""
    most_reads, most_writes = mode.quota_read_units, mode.quota_write_units
    return (most_reads is None or sum(t.reads for t in tables) <= most_reads) and (
        most_writes is None or sum(t.writes for t in tables) <= most_writes
    )


def _kept(
    found: Sequence[tuple[str, Table]], mode: Mode
) -> tuple[frozenset[str], tuple[float, float], float]:
    """The tables staying in ``mode`` (the rest move), and what a read and a write unit
    of the quota are worth (dollars a month: the knapsack's dual prices), and the
    savings every choice within the quota loses at least (HiGHS's proven bound).

    Those with no other mode stay.  The others are a knapsack of two rows (read and
    write units), maximising the savings kept, solved twice by HiGHS: its linear
    relaxation, whose solution has at most two tables partly kept (a basic solution
    of two rows), rounded down and then filled with every table left out that still
    fits, most saving first; and, for at most :data:`MAX_SEARCHED` tables, the
    knapsack itself, searched within :data:`MAX_NODES` nodes.  The choice saving
    more wins (the rounded one on a tie).
    Nothing depends on the clock: same inputs, same tables."""
    fixed = [name for name, t in found if t.fallback is None]
    free = sorted((item for item in found if item[1].fallback is not None), key=lambda i: i[0])
    reads = mode.quota_read_units
    writes = mode.quota_write_units
    room_reads = sum(t.reads for _, t in free) if reads is None else reads
    room_writes = sum(t.writes for _, t in free) if writes is None else writes
    room_reads -= sum(t.reads for name, t in found if name in fixed)
    room_writes -= sum(t.writes for name, t in found if name in fixed)
    tables = [t for _, t in free]
    relaxed = _knapsack(tables, room_reads, room_writes, integer=False)
    rounded = _filled(free, [v >= 1 - 1e-9 for v in relaxed.values], room_reads, room_writes)
    most = relaxed.most
    if len(free) <= MAX_SEARCHED:
        searched = _knapsack(tables, room_reads, room_writes, integer=True)
        chosen = [v > 0.5 for v in searched.values]
        if _saved(free, chosen) > _saved(free, rounded):
            rounded = chosen
        if math.isfinite(searched.most):
            most = min(most, searched.most)
    kept = frozenset(fixed) | {name for (name, _), k in zip(free, rounded, strict=True) if k}
    return kept, relaxed.prices, max(0.0, sum(t.saving for t in tables) - most)


def _filled(
    free: Sequence[tuple[str, Table]], kept: Sequence[bool], reads: int, writes: int
) -> list[bool]:
    """``kept`` with every table left out that still fits kept too, most saving first."""
    kept = list(kept)
    reads -= sum(t.reads for (_, t), k in zip(free, kept, strict=True) if k)
    writes -= sum(t.writes for (_, t), k in zip(free, kept, strict=True) if k)
    order = sorted(range(len(free)), key=lambda i: (-free[i][1].saving, free[i][0]))
    for i in order:
        t = free[i][1]
        if not kept[i] and t.saving > 0 and t.reads <= reads and t.writes <= writes:
            kept[i] = True
            reads -= t.reads
            writes -= t.writes
    return kept


def _saved(free: Sequence[tuple[str, Table]], kept: Sequence[bool]) -> float:
    return sum(t.saving for (_, t), k in zip(free, kept, strict=True) if k)


@dataclass(frozen=True, slots=True)
class _Knapsack:
    """HiGHS's answer to one knapsack."""

    values: list[float]
    """Each table's kept share (whole when searched)."""
    prices: tuple[float, float]
    """Of the linear relaxation: what a read and a write unit are worth."""
    most: float
    """The most any choice within the quota saves (a proven upper bound)."""


def _knapsack(tables: Sequence[Table], reads: int, writes: int, *, integer: bool) -> _Knapsack:
    """Keeping ``tables`` within ``reads`` and ``writes`` units, maximising their savings:
    the linear relaxation, or (``integer``) HiGHS's best whole choice within
    :data:`MAX_NODES` nodes."""
    from highspy import _core  # noqa: PLC0415 - loaded only for a plan past a quota

    if not tables:
        return _Knapsack([], (0.0, 0.0), 0.0)
    columns = Columns()
    for t in tables:
        columns.new((0, 1), (float(t.reads), float(t.writes)))
    highs = highs_holding(
        [-t.saving for t in tables],
        [1.0] * len(tables),
        [-math.inf, -math.inf],
        [float(reads), float(writes)],
        columns,
        integer=integer,
        max_nodes=MAX_NODES,
        abs_gap=_HALF_CENT,
    )
    highs.run()
    solution = highs.getSolution()
    if integer:
        info = highs.getInfo()
        found = info.primal_solution_status == _core.SolutionStatus.kSolutionStatusFeasible
        values = list(solution.col_value) if found else [0.0] * len(tables)
        return _Knapsack(values, (0.0, 0.0), -float(info.mip_dual_bound))
    duals = [max(0.0, -d) for d in solution.row_dual]
    return _Knapsack(
        list(solution.col_value), (duals[0], duals[1]), -highs.getInfo().objective_function_value
    )


def _lagrangian(
    problem: Problem,
    quoted: Mapping[str, Backend],
    tables: Tables,
    prices: Mapping[ModePool, tuple[float, float]],
) -> float:
    """A lower bound on every plan within the quotas: the optimiser's linear floor with
    each unit provisioned in a pool paying the pool's prices (a resource paying more
    than its other mode there takes that), less what the quotas' units are worth.

    Any plan within the quotas costs at least that: its units in each pool, priced,
    add at most what the quota's units are worth (weak duality)."""
    if not any(r or w for r, w in prices.values()):
        return -math.inf
    resources = []
    for res in problem.resources:
        options = list(res.options)
        for i, option in enumerate(options):
            pool = mode_pool(problem, quoted, option)
            price = None if pool is None else prices.get(pool)
            if pool is None or price is None:
                continue
            table = tables.of(res, pool)
            raised = option.cost + price[0] * table.reads + price[1] * table.writes
            if table.fallback is not None and table.fallback[1] < raised:
                options[i] = replace(option, mode=table.fallback[0], cost=table.fallback[1])
            else:
                options[i] = replace(option, cost=raised)
        ordered = tuple(sorted(options, key=lambda o: (o.cost, o.rank)))
        resources.append(res if ordered == res.options else replace(res, options=ordered))
    worth = 0.0
    for (backend, mode_name, _), (read_price, write_price) in prices.items():
        mode = mode_named(quoted[backend], mode_name)
        worth += read_price * (mode.quota_read_units or 0) + write_price * (
            mode.quota_write_units or 0
        )
    return floor(replace(problem, resources=tuple(resources))) - worth


def _priced(res: ResourceOptions, backend: str, mode: str | None, cost: float) -> ResourceOptions:
    """``res`` with its option on ``backend`` priced ``cost`` in ``mode``, options re-sorted."""
    options = tuple(
        replace(o, mode=mode, cost=cost) if o.backend == backend else o for o in res.options
    )
    return replace(res, options=tuple(sorted(options, key=lambda o: (o.cost, o.rank))))


def _known(bound: float | None) -> float:
    assert bound is not None  # an assignment not proven carries its bound
    return bound
