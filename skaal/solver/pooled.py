"""The pooled relaxation of a coupled component (its model: :mod:`.pooled_model`),
solved exactly by HiGHS, and its solution rounded when it is solved linear.

HiGHS runs single-threaded with a fixed seed and no time limit, so the same
model gives the same answer on any machine load; its only limit is a node
count (:data:`MAX_NODES`), a deterministic unit of work.  Costs are in
dollars, usages in their own units (GB, operations per second).  HiGHS is
loaded (:mod:`.highs`) only when a component needs it: small apps never pay
for its import.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from msgspec import Struct
from msgspec.structs import replace

from skaal.solver.branching import Branched, branch_counts
from skaal.solver.cuts import Cut, add_cuts
from skaal.solver.decompose import Group
from skaal.solver.highs import highs_holding, run_beside
from skaal.solver.opening import solve_again, solve_open
from skaal.solver.pooled_model import PooledModel
from skaal.solver.quota_bound import QuotaBound
from skaal.solver.servers import Server, Shape

if TYPE_CHECKING:
    from highspy._core import _Highs

    from skaal.solver.count_pools import Pool
    from skaal.solver.count_rows import CountRows
    from skaal.solver.rebound import Kept

__all__ = [
    "MAX_EXACT_COLUMNS",
    "MAX_NODES",
    "MAX_SHAPE_COLUMNS",
    "Pooled",
    "branched",
    "solve_pooled",
]

#: The branch-and-bound node limit (deterministic work, never seconds).  200,000
#: nodes let one run for 55 s, and 2,000 gave the same plans on every draw of
#: 100 and 200 resources tried.  HiGHS spends 3 to 9 ms a node, and up to 4 s
#: at the root, on the models per shape of 2,000 to 3,000 unit columns (up to
#: 19 s in all): those are pooled per server now (:data:`MAX_SHAPE_COLUMNS`).
MAX_NODES = 2_000
#: Up to this many unit columns the integer model is written per shape, whose
#: bound is the tightest: with it HiGHS proves 11 of the 13 plans of the
#: ``users`` draws of 100 resources, and of 150 on gcp, optimal, each within
#: 1.3 s.  Past it (and up to :data:`MAX_EXACT_COLUMNS`) the integer model is
#: pooled per server, with its family rows.  On the ``users`` draws of 200 to
#: 400 resources (five seeds each, both bundled catalogs: 50 plans) ``solve``
#: took up to 15.8 s with the model per shape (medians 2 to 8 s where it was
#: used) and proved 15 plans optimal; with the model per server, at most 3.0 s
#: and 2 proven, each plan at most 0.11 % ($383 a month) above the one per
#: shape (``solver/HISTORY.md``, "The ``users`` draws between 100 and 400
#: resources").
MAX_SHAPE_COLUMNS = 1_500
#: Past this many columns of the model HiGHS solves its linear relaxation without
#: its presolve.  On the gcp ``users`` draw of 100,000 resources (169,000
#: columns, 62,400 rows) the presolve saved no time and its copies of the model
#: raised the process's peak by 48 MiB (916 against 868); the models of the
#: draws of 1,000 to 10,000 resources are solved as they were: without the
#: presolve 7 of 42 plans ended on another vertex, within 0.02 % of their totals.
MAX_PRESOLVED_COLUMNS = 100_000
#: Models with more columns than this are not branched on: their linear
#: relaxation bounds the plan and its rounding gives it (``best_found``).
#: Many distinct resources on servers with many classes make the exact model
#: a hard fixed-charge problem; HiGHS spends minutes on its root at 14,000
#: columns (a 1,000-resource app of the ``users`` draw), so past this size the
#: planner answers at once with a proven bound and the gap instead.
MAX_EXACT_COLUMNS = 4_000


class Pooled(Struct, frozen=True):
    """The relaxation's answer: counts per (group, option) and instances per shape."""

    counts: tuple[tuple[tuple[str, Shape | None, int], ...], ...] | None
    """Per group (input order): (backend, shape on a server, units) with units > 0;
    ``None`` if no solution is known."""
    instances: Mapping[str, tuple[tuple[Shape, int], ...]]
    """Per server backend: (shape, instances) with instances > 0."""
    bound: float
    """A proven lower bound on every plan of the component (dollars)."""
    proven: bool
    """True when HiGHS proved the counts optimal (then ``bound`` is their cost)."""
    infeasible: bool
    capped: Mapping[str, tuple[tuple[Shape, int], ...]] = {}
    """Per server whose ``instances``, rounded up from the linear relaxation, pass its
    quota: those instances brought within it (:func:`_within_quota`), for a packing
    that cannot merge the rounded-up ones back under the quota."""
    kept: Kept | None = None
    """With ``keep``: the linear relaxation solved, as HiGHS holds it (:mod:`.rebound`)."""
    own: Pooled | None = None
    """When the linear relaxation's instance counts were branched on (:mod:`.branching`):
    its own solution rounded, with the same bound, for placement to try too."""
    iterations: int = 0
    """HiGHS's simplex iterations solving the integer model (every run, cuts and
    heuristics included): its work, counted the same on every machine."""
    restricted: frozenset[str] = frozenset()
    """Backends of count pools the relaxation was kept within (:mod:`.count_rows`): the
    units it does not place there lose that option for the rest of the optimisation."""
    provisioned: QuotaBound | None = None
    """A proven lower bound on every plan of the component within the quotas on
    provisioned capacity (:mod:`.quota_bound`), when the relaxation could pass them."""


def solve_pooled(
    grouped: Sequence[Group],
    servers: Mapping[str, Server],
    *,
    max_backends: int | None = None,
    max_nodes: int = MAX_NODES,
    max_exact_columns: int = MAX_EXACT_COLUMNS,
    linear: bool = False,
    cutoff: float | None = None,
    keep: bool = False,
    beside: Callable[[], object] | None = None,
    branch: bool = True,
    first: bool = False,
    cuts: Sequence[Cut] = (),
    rows: CountRows | None = None,
) -> Pooled:
    """Solve the relaxation of the module docstring (its linear relaxation only
    past ``max_exact_columns`` unit columns, or when ``max_nodes`` branch-and-bound
    nodes end without an integer solution: then rounded, ``proven`` false).  The
    integer model is written per shape up to :data:`MAX_SHAPE_COLUMNS` unit columns,
    pooled per server past them.

    ``linear``: the linear relaxation of the same model (per shape up to
    ``max_exact_columns``), for its bound alone (the answer has no counts):
    milliseconds, where the integer model can take seconds.

    ``cutoff`` (dollars): only solutions cheaper than this are wanted, so
    HiGHS prunes every node whose bound reaches it; with none cheaper, the
    answer has no counts and ``bound`` is the cutoff.  ``keep``: a linear relaxation
    solved is kept in the answer, to bound the component again without some
    pools (:class:`.rebound.Kept`).  A repack asking
    whether a server's units fit cheaper instances than they have proves "no"
    at the root instead of proving the instances they have optimal (aws
    ``users`` 1,000: 0 nodes and 15 ms instead of 0.1 s).

    ``beside``: work done on a spare CPU while HiGHS solves (:func:`.highs.run_beside`).
    ``branch``: where rounding a linear relaxation's instance counts passes a quota,
    the counts are branched on (:mod:`.branching`).  ``first``: with ``cutoff``, the
    first solution cheaper than it is the answer (HiGHS stops at its first improving
    solution, often at its root, where the cheapest can take its cuts and heuristics
    many times longer); ``proven`` is then false.  ``cuts``: rows of :mod:`.cuts`
    (for the integer model), each met by every plan.  ``rows``: the count quotas the
    units could pass (:mod:`.count_rows`): when the linear relaxation's optimum passes
    one, it is solved again within it, and the answer says which backends its units
    not placed there lose (:attr:`Pooled.restricted`).
    """
    from highspy import _core  # noqa: PLC0415 - the core, not the wrapper (which prints a banner)

    columns = _columns(grouped, servers)
    exact = columns <= max_exact_columns and not linear
    per_shape = columns <= max_exact_columns and (linear or columns <= MAX_SHAPE_COLUMNS)
    # the quotas on provisioned capacity as rows: for the linear relaxation placed (.mode_rows)
    provisioned = rows.provisioned if rows is not None and not exact and not linear else None
    model = PooledModel(
        grouped,
        servers,
        max_backends,
        per_shape=per_shape,
        counting=rows,
        provisioned=provisioned,
    )
    # HiGHS's own integrality tolerance (1e-6): with 1e-9 it proved wrong optima
    # on these models (a users draw of 200 resources: "optimal" at $3,557.92, or
    # $3,534.45 with another seed, where $3,528.98 is feasible; with 1e-6 ten
    # seeds and both restart settings agree on $3,528.98).
    highs = highs_holding(
        model.cost,
        model.upper,
        model.row_lower,
        model.row_upper,
        model.columns,
        integer=exact,
        max_nodes=max_nodes,
        abs_gap=1e-7,
        presolve=len(model.cost) <= MAX_PRESOLVED_COLUMNS,
    )
    if cuts:
        add_cuts(highs, model, grouped, cuts)
    if cutoff is not None:
        highs.setOptionValue("objective_bound", cutoff - model.constant)
        if first:
            highs.setOptionValue("mip_max_improving_sols", 1)
    run_beside(highs, beside)
    spent = solve_open(highs, model.opening)
    status = highs.getModelStatus()
    info = highs.getInfo()
    solved = info.primal_solution_status == _core.SolutionStatus.kSolutionStatusFeasible
    if cutoff is not None and (
        not solved or model.constant + float(info.objective_function_value) >= cutoff
    ):
        # Nothing cheaper than the cutoff.  HiGHS may still hold a dearer solution
        # its heuristics found, and call it optimal once every node is pruned.
        # the search ended by its bounds, not by its node limit
        finished = status in (
            _core.HighsModelStatus.kInfeasible,
            _core.HighsModelStatus.kOptimal,
            _core.HighsModelStatus.kObjectiveBound,
        )
        return Pooled(None, {}, cutoff if finished else 0.0, False, False, iterations=spent)
    if status == _core.HighsModelStatus.kInfeasible:
        return Pooled(None, {}, math.inf, True, True)
    if not solved and exact:
        # The node limit ended the search before any integer solution: round
        # the linear relaxation instead (as past ``max_exact_columns``), and
        # keep the better of the two proven bounds.
        dual = model.constant + float(info.mip_dual_bound)
        del highs, model
        rounded = solve_pooled(
            grouped, servers, max_backends=max_backends, max_exact_columns=-1, keep=keep
        )
        if rounded.counts is None or not math.isfinite(dual) or dual <= rounded.bound:
            return rounded
        return replace(rounded, bound=dual)
    if not solved:
        return Pooled(None, {}, 0.0, False, False)
    if not exact:
        kept = _kept(highs, model) if keep else None  # the whole model's, before branching
        passed = (
            _within_counts(highs, model, rows) if rows is not None and not linear else frozenset()
        )
        if passed is None:  # the units could not keep within the pools: .counts settles it
            return solve_pooled(
                grouped, servers, max_backends=max_backends, max_nodes=max_nodes,
                max_exact_columns=max_exact_columns, keep=keep, branch=branch,
            )  # fmt: skip
        # every plan within the quotas on provisioned capacity costs at least this
        held_to = QuotaBound.of(highs, model, provisioned) if provisioned is not None else None
        if branch:
            dive = branch_counts(
                highs,
                model.shapes,
                model.quotas,
                model.upper,
                lambda: solve_again(highs, model.opening),
            )
        else:
            objective = float(info.objective_function_value)
            dive = Branched(highs.getSolution().col_value, objective)
        bound = model.constant + dive.bound  # every plan keeps within the count rows too
        if linear:  # asked for its bound alone: nothing is placed from it
            return Pooled(None, {}, bound, False, False, kept=kept)
        answer = _rounded(model, grouped, dive.solution, bound, rows=rows, passed=passed)
        if dive.own is not None:
            answer = replace(
                answer, own=_rounded(model, grouped, dive.own, bound, rows=rows, passed=passed)
            )
        if held_to is not None:
            answer = replace(answer, provisioned=held_to.above(bound))
        return replace(answer, kept=kept) if keep else answer
    proven = status == _core.HighsModelStatus.kOptimal
    values = [round(v) for v in highs.getSolution().col_value]
    counts = tuple(
        tuple((backend, shape, values[col]) for backend, shape, col in row if values[col] > 0)
        for row in model.placement
    )
    instances = {
        name: tuple((shape, values[col]) for shape, col in shapes if values[col] > 0)
        for name, shapes in model.shapes.items()
    }
    bound = model.constant + float(info.objective_function_value if proven else info.mip_dual_bound)
    return Pooled(counts, instances, bound, proven, False, iterations=spent)


def _kept(highs: _Highs, model: PooledModel) -> Kept:
    from skaal.solver.rebound import Kept  # noqa: PLC0415 - only a plan with network fees asks

    columns: dict[str, list[int]] = {}
    for row in model.placement:
        for backend, _, col in row:
            columns.setdefault(backend, []).append(col)
    for name, shapes in model.shapes.items():
        columns.setdefault(name, []).extend(col for _, col in shapes)
    return Kept(highs.getLp(), highs.getBasis(), model.constant, columns, model.upper)


def _within_counts(highs: _Highs, model: PooledModel, rows: CountRows) -> frozenset[Pool] | None:
    """Add a row for each count pool the linear relaxation ``highs`` holds passes, and
    solve it again from its basis: the pools passed; ``None`` when nothing within them is
    feasible (the rows are then of no use)."""
    import numpy as np  # noqa: PLC0415 - loaded with HiGHS

    values = highs.getSolution().col_value
    passed: list[Pool] = []
    for pool, entries in sorted(model.counted.items()):
        if sum(values[col] * n for col, n in entries) > rows.rooms[pool] + 1e-6:
            index = np.array([col for col, _ in entries], dtype=np.int32)
            weights = np.array([n for _, n in entries], dtype=np.float64)
            highs.addRow(-np.inf, float(rows.rooms[pool]), len(index), index, weights)
            passed.append(pool)
    if passed and solve_again(highs, model.opening) is not True:
        return None
    return frozenset(passed)


def _rounded(
    model: PooledModel,
    grouped: Sequence[Group],
    solution: Sequence[float],
    bound: float,
    *,
    rows: CountRows | None = None,
    passed: frozenset[Pool] = frozenset(),
) -> Pooled:
    """The linear relaxation's solution rounded to whole units and instances.

    Each group's units go to its options in proportion to the relaxation
    (largest remainders first, ties to the cheaper option), a unit split
    between a server and a dedicated option to the dedicated one: rounding
    it onto the server would overfill a capacity the relaxation has filled
    to the brim, and push many units off the server instead; each shape gets
    the relaxation's instances rounded up, and where that passes a server's
    quota the answer also holds them brought within it (``capped``).  The
    placement step adds instances where first fit needs more.  ``bound`` (dollars) is
    the proven lower bound: the relaxation's optimum, or above it once instance counts
    were branched on (:mod:`.branching`).  A backend of a count pool ``passed`` (the
    relaxation was kept within it, :mod:`.count_rows`) is rounded like a server, its
    remainders last, and each such pool is then brought within its room.
    """
    held = frozenset(pool[0] for pool in passed)
    counts: list[list[tuple[str, Shape | None, int]]] = []
    for group, row in zip(grouped, model.placement, strict=True):
        size = len(group.units)
        shares = [(backend, shape, solution[col]) for backend, shape, col in row]
        whole = [math.floor(v + 1e-9) for _, _, v in shares]
        left = size - sum(whole)
        if left > 0:  # most groups sit whole on one option: nothing to hand out
            order = sorted(
                range(len(shares)),
                key=lambda i: (
                    shares[i][0] in model.shapes
                    or shares[i][0] in held
                    or shares[i][2] - whole[i] < 1e-9,
                    -(shares[i][2] - whole[i]),
                    model.cost[row[i][2]],
                ),
            )
            for i in order[:left]:
                whole[i] += 1
        counts.append(
            [(b, shape, n) for (b, shape, _), n in zip(shares, whole, strict=True) if n > 0]
        )
    if held and rows is not None:
        _within_rooms(counts, model, grouped, rows, passed)
    instances: dict[str, tuple[tuple[Shape, int], ...]] = {}
    rounded: dict[str, list[tuple[str, Shape, float, int]]] = {}  # per quota key
    for name, shapes in model.shapes.items():
        values = [(shape, solution[col]) for shape, col in shapes if solution[col] > 1e-9]
        whole = [math.ceil(value - 1e-9) for _, value in values]
        instances[name] = tuple((shape, n) for (shape, _), n in zip(values, whole, strict=True))
        key = model.quotas[name][0]
        rounded.setdefault(key, []).extend(
            (name, shape, value, n) for (shape, value), n in zip(values, whole, strict=True)
        )
    capped: dict[str, tuple[tuple[Shape, int], ...]] = {}
    for name, (key, quota) in model.quotas.items():
        if name not in capped and sum(r[1].units * r[3] for r in rounded.get(key, ())) > quota:
            capped.update(_within_quota(rounded[key], quota))
    rounded_counts = tuple(tuple(row) for row in counts)
    return Pooled(rounded_counts, instances, bound, False, False, capped, restricted=held)


def _within_rooms(
    counts: list[list[tuple[str, Shape | None, int]]],
    model: PooledModel,
    grouped: Sequence[Group],
    rows: CountRows,
    passed: frozenset[Pool],
) -> None:
    """Bring each pool ``passed`` within its room by moving units of its backend to their
    group's cheapest other option (a server's, placed and repaired later), the last
    groups first; in place (rounding up a few remainders may pass the row by a unit)."""
    for pool in sorted(passed):
        backend = pool[0]
        creates = [rows.of(backend, group.units[0].members).get(pool, 0) for group in grouped]
        used = sum(
            n * creates[g] for g, row in enumerate(counts) for b, _, n in row if b == backend
        )
        for g in reversed(range(len(counts))):
            if used <= rows.rooms[pool]:
                break
            row = counts[g]
            at = next((i for i, (b, _, _) in enumerate(row) if b == backend), -1)
            others = [
                (model.cost[col], b, shape) for b, shape, col in model.placement[g] if b != backend
            ]
            if at < 0 or not others or not creates[g]:
                continue
            _, target, shape = min(others, key=lambda item: item[0])
            moved = min(row[at][2], -(-(used - rows.rooms[pool]) // creates[g]))
            row[at] = (backend, row[at][1], row[at][2] - moved)
            there = next((i for i, (b, k, _) in enumerate(row) if b == target and k is shape), -1)
            if there < 0:
                row.append((target, shape, moved))
            else:
                row[there] = (target, shape, row[there][2] + moved)
            used -= moved * creates[g]
            counts[g] = [entry for entry in row if entry[2] > 0]


def _within_quota(
    rounded: Sequence[tuple[str, Shape, float, int]], quota: int
) -> dict[str, tuple[tuple[Shape, int], ...]]:
    """The instances of the servers sharing a quota, per shape as (server, shape,
    relaxation's value, rounded up), past the ``quota``: brought within it by
    giving some back; per server, what it keeps.

    The relaxation keeps their sum within the quota, but rounding each up
    does not: 0.56 small ($2) and 1.44 large ($50) instances under a quota
    of 2 round up to 1 + 2 (the aws ``users`` draw of 1,500 resources, seed
    10, planned 41 PostgreSQL instances under a quota of 40 this way).  Each
    shape rounded up is over its value by less than one instance, so giving
    back one rounded-up instance of each shape brings them within it; those
    given back are the rounded-up instances the relaxation used least, in
    fees: here the small one (0.56 of $2, against 0.44 of $50).  A shape
    using several units of the quota (:attr:`.Shape.units`) gives back as
    many.  Placement packs into these only when the rounded-up instances,
    packed and merged, still pass the quota (packing usually merges them
    back under it, more cheaply); it sheds or spills what they cannot hold.
    """
    kept = [n for *_, n in rounded]
    share = [value - (n - 1) for _, _, value, n in rounded]
    # (a tolerance can leave too few rounded up to give back: then others)
    order = sorted(
        range(len(rounded)),
        key=lambda i: (kept[i] <= rounded[i][2] + 1e-9, share[i] * rounded[i][1].fee, i),
    )
    over = sum(r[1].units * r[3] for r in rounded) - quota
    for i in order:
        if over <= 0:
            break
        kept[i] -= 1
        over -= rounded[i][1].units
    out: dict[str, list[tuple[Shape, int]]] = {}
    for (name, shape, _, _), n in zip(rounded, kept, strict=True):
        row = out.setdefault(name, [])
        if n > 0:
            row.append((shape, n))
    return {name: tuple(row) for name, row in out.items()}


def branched(grouped: Sequence[Group], servers: Mapping[str, Server]) -> bool:
    """Whether :func:`solve_pooled` solves this model as an integer programme (per shape
    or per server), as it does up to :data:`MAX_EXACT_COLUMNS` unit columns by default."""
    return _columns(grouped, servers) <= MAX_EXACT_COLUMNS


def _columns(grouped: Sequence[Group], servers: Mapping[str, Server]) -> int:
    """How many unit columns the per-shape model would have."""
    return sum(
        len(servers[o.backend].shapes) if o.backend in servers else 1
        for g in grouped
        for o in g.options
    )
