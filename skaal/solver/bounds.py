"""Lower and upper bounds for a component whose shared capacity binds.

A component (units ``u`` coupled through shared backends ``s``; fee ``f_s``,
capacity ``cap[s,d]`` per instance, at most ``m_s`` instances) is optimised
exactly only by z3.  Two cheap bounds often make z3 unnecessary: when the
upper bound equals the lower bound to the micro-dollar, the upper bound's plan
is proven optimal.

**Lower bound (Lagrangian relaxation).**  Per-instance capacity implies the
pooled capacity ``Σ_u use[u,d] · x[u,s] ≤ cap[s,d] · n_s``.  Moving that
constraint into the objective with multipliers ``λ[s,d] ≥ 0`` gives, for
every feasible plan (opened set ``O = {s : n_s ≥ 1}``),

    cost ≥ cost + Σ λ[s,d] · (use·x − cap·n)                    (penalty ≤ 0)
         ≥ L(λ) = min_O [ Σ_{s∈O} g_s(λ) + Σ_u min_{b ∈ ded(u) ∪ O} c_λ[u,b] ]

    c_λ[u,s] = c[u,s] + Σ_d λ[s,d] · use[u,d]        (dedicated: c_λ = c)
    g_s(λ)   = min_{1 ≤ n ≤ m_s} n · (f_s − Σ_d λ[s,d] · cap[s,d])

so ``L(λ)`` is a valid bound for every ``λ ≥ 0``; ``L(0)`` is the
capacity-ignored optimum.  ``L`` is concave (a minimum of affine functions),
and its maximum is at least the LP relaxation's value.  For one shared
backend and one binding dimension it is exactly the classic knapsack LP
bound: units sorted by saving per unit of capacity, filled fractionally
(the breakpoint ``λ`` is the critical unit's saving density).  We maximise
``L`` by coordinate ascent over the binding ``(s, d)`` pairs, each a
golden-section search of a concave function on ``[0, λ_max]``.

Evaluating ``L(λ)`` enumerates the opened sets ``O`` (at most
``2^MAX_ENUMERATED`` of them), but not per unit: a unit's value for ``O`` is
the adjusted cost of its first option (in ``c_λ`` order) that is dedicated or
in ``O``, so units with the same order of shared backends (a *pattern*) are
summed position by position once, and each ``O`` costs one pass over the
patterns.  Cost: ``O(N·k log k + 2^S · P · k)`` per evaluation (``k``
options per unit, ``S`` shared backends, ``P`` patterns).

**Upper bound (packing).**  Start from the capacity-ignored optimum; for each
opened backend try every instance count ``n ≤ m_s``: keep the units with the
best saving per unit of capacity (and, separately, the best absolute saving)
first-fit into ``n`` instances and move the others to their next-best option
(dedicated, or a shared backend not yet packed).  The cheapest variant is a
feasible plan and the upper bound.  :func:`lagrangian_start` gives a second
start for the same packing: the minimiser of ``L(λ)`` at the best
multipliers, which already prices capacity.  :mod:`.incumbent` then improves
either plan by local search.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from skaal.solver.decompose import DIMENSIONS, Unit, UnitOption

__all__ = [
    "MAX_ENUMERATED",
    "Bins",
    "Multipliers",
    "Placement",
    "Shared",
    "first_option",
    "lagrangian",
    "lagrangian_start",
    "lower_bound",
    "pack",
    "relaxed",
    "total",
    "upper_bound",
]

#: Opened sets are enumerated only for components with at most this many shared backends.
MAX_ENUMERATED = 10
_GOLDEN = (math.sqrt(5) - 1) / 2
_SEARCH_STEPS = 28
_ROUNDS = 2

Placement = dict[str, list[Unit]]


@dataclass(frozen=True, slots=True)
class Shared:
    """A shared backend in integer units: fee in micro-dollars, scaled capacities."""

    name: str
    fee: int
    capacity: tuple[int | None, ...]
    max_instances: int


def first_option(
    options: Sequence[UnitOption], allowed: set[str] | frozenset[str], shared: Mapping[str, Shared]
) -> UnitOption | None:
    """The cheapest option that is dedicated or on an allowed shared backend."""
    for option in options:
        if option.backend not in shared or option.backend in allowed:
            return option
    return None


def total(placement: Placement, opened: Mapping[str, int], shared: Mapping[str, Shared]) -> int:
    """Micro-dollar cost of a placement with ``opened[s]`` instances of each shared backend."""
    own = sum(
        next(o.cost for o in unit.options if o.backend == backend)
        for backend, placed in placement.items()
        for unit in placed
    )
    return own + sum(shared[s].fee * n for s, n in opened.items() if placement.get(s))


def relaxed(part: Sequence[Unit], shared: Mapping[str, Shared]) -> tuple[Placement, int] | None:
    """The optimum with capacities ignored (``L(0)``) and its cost, or None if not enumerable."""
    names = sorted({o.backend for u in part for o in u.options if o.backend in shared})
    if len(names) > MAX_ENUMERATED:
        return None
    best: tuple[tuple[int, int], Placement] | None = None
    for size in range(len(names) + 1):
        for opened in itertools.combinations(names, size):
            allowed = set(opened)
            cost = sum(shared[s].fee for s in opened)
            placement: Placement = {}
            for unit in part:
                option = first_option(unit.options, allowed, shared)
                if option is None:
                    break
                cost += option.cost
                placement.setdefault(option.backend, []).append(unit)
            else:
                if best is None or (cost, size) < best[0]:
                    best = ((cost, size), placement)
    return None if best is None else (best[1], best[0][0])


def _weight(unit: Unit, caps: Sequence[int | None]) -> float:
    return max((u / c for u, c in zip(unit.usage, caps, strict=True) if c), default=0.0)


def pack(placed: Sequence[Unit], spec: Shared, bins: int) -> list[list[Unit]] | None:
    """First-fit decreasing into ``bins`` instances, or None if it does not fit."""
    order = sorted(placed, key=lambda u: (-_weight(u, spec.capacity), u.name))
    kept, spill = _first_fit(order, spec, bins)
    return None if spill else kept


def _first_fit(
    order: Sequence[Unit], spec: Shared, bins: int
) -> tuple[list[list[Unit]], list[Unit]]:
    caps = spec.capacity
    loads = [[0] * len(DIMENSIONS) for _ in range(bins)]
    out: list[list[Unit]] = [[] for _ in range(bins)]
    spill: list[Unit] = []
    for unit in order:
        for load, members in zip(loads, out, strict=True):
            if all(c is None or load[d] + unit.usage[d] <= c for d, c in enumerate(caps)):
                for d, amount in enumerate(unit.usage):
                    load[d] += amount
                members.append(unit)
                break
        else:
            spill.append(unit)
    return [m for m in out if m], spill


Bins = dict[str, list[list[Unit]]]


def upper_bound(
    part: Sequence[Unit], shared: Mapping[str, Shared], start: Placement
) -> tuple[Placement, Bins, int] | None:
    """A feasible packing derived from the capacity-ignored optimum ``start`` (see above)."""
    placement: Placement = {b: list(u) for b, u in start.items() if b not in shared}
    order = sorted(b for b in start if b in shared)
    pending: dict[str, list[Unit]] = {b: list(start[b]) for b in order}
    opened: Bins = {}
    for index, backend in enumerate(order):
        spec = shared[backend]
        later = frozenset(order[index + 1 :])
        best: tuple[int, list[list[Unit]], list[tuple[Unit, UnitOption]]] | None = None
        for unit_key in _orders(pending[backend], backend, later, shared):
            for n in range(1, spec.max_instances + 1):
                kept, spill = _first_fit(unit_key, spec, n)
                moved = [(u, first_option(_without(u, backend), later, shared)) for u in spill]
                if any(o is None for _, o in moved):
                    continue
                cost = spec.fee * len(kept) + sum(_cost(u, backend) for bin_ in kept for u in bin_)
                cost += sum(o.cost for _, o in moved if o is not None)
                if best is None or cost < best[0]:
                    best = (cost, kept, [(u, o) for u, o in moved if o is not None])
                if not spill:
                    break
        if best is None:
            return None
        _, kept, moved_units = best
        if kept:
            placement[backend] = [u for bin_ in kept for u in bin_]
            opened[backend] = kept
        for unit, option in moved_units:
            target = pending if option.backend in pending else placement
            target.setdefault(option.backend, []).append(unit)
    counts = {s: len(b) for s, b in opened.items()}
    return placement, opened, total(placement, counts, shared)


def _cost(unit: Unit, backend: str) -> int:
    return next(o.cost for o in unit.options if o.backend == backend)


def _without(unit: Unit, backend: str) -> tuple[UnitOption, ...]:
    return tuple(o for o in unit.options if o.backend != backend)


def _orders(
    units: Sequence[Unit], backend: str, later: frozenset[str], shared: Mapping[str, Shared]
) -> list[list[Unit]]:
    """Units by saving per unit of capacity, and by absolute saving (best first)."""
    spec = shared[backend]

    def saving(unit: Unit) -> float:
        alt = first_option(_without(unit, backend), later, shared)
        return math.inf if alt is None else alt.cost - _cost(unit, backend)

    def density(unit: Unit) -> float:
        size = _weight(unit, spec.capacity)
        return saving(unit) / size if size else math.inf

    return [
        sorted(units, key=lambda u: (-density(u), u.name)),
        sorted(units, key=lambda u: (-saving(u), u.name)),
    ]


def lower_bound(part: Sequence[Unit], shared: Mapping[str, Shared], start: Placement) -> int:
    """``max_λ L(λ)`` (module docstring), rounded up to a whole micro-dollar."""
    return lagrangian(part, shared, start)[0]


Multipliers = dict[tuple[str, int], float]


def lagrangian(
    part: Sequence[Unit],
    shared: Mapping[str, Shared],
    start: Placement,
    *,
    target: int | None = None,
    expired: Callable[[], bool] = lambda: False,
) -> tuple[int, Multipliers]:
    """``max_λ L(λ)`` rounded up, and the multipliers ``λ`` reaching it.

    The ascent stops early once the bound reaches ``target`` or ``expired()``
    says time is up (any ``λ`` gives a valid bound, only a weaker one).
    """
    names = tuple(sorted({o.backend for u in part for o in u.options if o.backend in shared}))
    if len(names) > MAX_ENUMERATED:
        return 0, {}
    pairs = [
        (s, d)
        for s in names
        if s in start
        for d, cap in enumerate(shared[s].capacity)
        if cap is not None and sum(u.usage[d] for u in start[s]) > cap
    ]
    lam: Multipliers = {}
    dual = _dual(part, shared, names, frozenset(s for s, _ in pairs))

    def evaluate(at: Mapping[tuple[str, int], float]) -> float:
        return dual(at)[0]

    best = evaluate(lam)
    for _ in range(_ROUNDS if pairs else 0):
        for pair in pairs:

            def along(x: float, pair: tuple[str, int] = pair) -> float:
                return evaluate({**lam, pair: x})

            value, arg = _golden(along, _lambda_max(part, shared, pair))
            if value > best:
                best = value
                lam[pair] = arg
            if (target is not None and _rounded(best) >= target) or expired():
                return _rounded(best), lam
    if not math.isfinite(best):
        return 0, {}
    return _rounded(best), lam


def _rounded(bound: float) -> int:
    """A float bound as whole micro-dollars, rounded up past float error."""
    if not math.isfinite(bound):
        return 0
    return max(0, math.ceil(bound - 1e-3 - 1e-12 * abs(bound)))


def lagrangian_start(
    part: Sequence[Unit], shared: Mapping[str, Shared], lam: Mapping[tuple[str, int], float]
) -> Placement:
    """The minimiser of ``L(λ)``: the opened set, and each unit on its cheapest adjusted option.

    Capacity is ignored, so the placement may overfill instances; it is a
    start for :func:`upper_bound`, which packs and spills.
    """
    names = tuple(sorted({o.backend for u in part for o in u.options if o.backend in shared}))
    if len(names) > MAX_ENUMERATED:
        return {}
    _, mask = _dual(part, shared, names, frozenset(s for s, _ in lam))(lam)
    opened = {s for i, s in enumerate(names) if mask >> i & 1}
    placement: Placement = {}
    for unit in part:
        choices = [
            (
                o.cost
                + sum(lam.get((o.backend, d), 0.0) * use for d, use in enumerate(unit.usage)),
                index,
                o.backend,
            )
            for index, o in enumerate(unit.options)
            if o.backend not in shared or o.backend in opened
        ]
        if not choices:
            return {}
        placement.setdefault(min(choices)[2], []).append(unit)
    return placement


def _lambda_max(part: Sequence[Unit], shared: Mapping[str, Shared], pair: tuple[str, int]) -> float:
    """Past the largest saving density (or fee density) no unit or instance gains from ``λ``."""
    s, d = pair
    cap = shared[s].capacity[d] or 1
    top = shared[s].fee / cap
    for unit in part:
        if unit.usage[d] > 0:
            costs = [o.cost for o in unit.options]
            top = max(top, (max(costs) - min(costs)) / unit.usage[d])
    return top * 1.01 + 1e-9


def _golden(f: Callable[[float], float], hi: float) -> tuple[float, float]:
    """Maximum of a concave ``f`` on ``[0, hi]`` (value, argument) by golden-section search."""
    a, b = 0.0, hi
    c, e = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fe = f(c), f(e)
    best = max((f(a), a), (f(b), b), (fc, c), (fe, e))
    for _ in range(_SEARCH_STEPS):
        if fc < fe:
            a, c, fc = c, e, fe
            e = a + _GOLDEN * (b - a)
            fe = f(e)
            best = max(best, (fe, e))
        else:
            b, e, fe = e, c, fc
            c = b - _GOLDEN * (b - a)
            fc = f(c)
            best = max(best, (fc, c))
    return best


def _dual(
    part: Sequence[Unit],
    shared: Mapping[str, Shared],
    names: tuple[str, ...],
    priced: frozenset[str],
) -> Callable[[Mapping[tuple[str, int], float]], tuple[float, int]]:
    """``λ ↦ (L(λ), its minimising opened set as a bit mask)``, by patterns (module docstring).

    ``λ`` may be non-zero only on backends in ``priced``: units with no
    option there have fixed patterns, summed once.
    """
    bit = {s: 1 << i for i, s in enumerate(names)}
    subsets = range(1 << len(names))
    fixed: dict[tuple[str, ...], list[float]] = {}
    moving: list[tuple[float, list[tuple[int, str]], tuple[int, ...]]] = []
    for unit in part:
        dedicated = min((o.cost for o in unit.options if o.backend not in shared), default=math.inf)
        options = [(o.cost, o.backend) for o in unit.options if o.backend in shared]
        if any(b in priced for _, b in options):
            moving.append((dedicated, options, unit.usage))
        else:
            _add_pattern(fixed, dedicated, sorted((float(c), b) for c, b in options))

    def evaluate(lam: Mapping[tuple[str, int], float]) -> tuple[float, int]:
        vectors: dict[str, list[float]] = {}
        for (backend, d), value in lam.items():
            if value:
                vectors.setdefault(backend, [0.0] * len(DIMENSIONS))[d] = value
        patterns = {key: list(sums) for key, sums in fixed.items()}
        for dedicated, options, usage in moving:
            adjusted: list[tuple[float, str]] = []
            for cost, backend in options:
                vector = vectors.get(backend)
                if vector is None:
                    adjusted.append((cost, backend))
                else:
                    extra = sum(v * u for v, u in zip(vector, usage, strict=True))
                    adjusted.append((cost + extra, backend))
            adjusted.sort()
            _add_pattern(patterns, dedicated, adjusted)
        fees = []
        for s in names:
            spec = shared[s]
            g = spec.fee - sum(
                lam.get((s, d), 0.0) * cap for d, cap in enumerate(spec.capacity) if cap is not None
            )
            fees.append(g if g >= 0 else g * spec.max_instances)
        masks = [(tuple(bit[s] for s in key), sums) for key, sums in patterns.items()]
        best, argmin = math.inf, 0
        for subset in subsets:
            value = sum(fees[i] for i in range(len(names)) if subset >> i & 1)
            for key_bits, sums in masks:
                for i, b in enumerate(key_bits):
                    if subset & b:
                        value += sums[i]
                        break
                else:
                    value += sums[-1]
                if value >= best:
                    break
            if value < best:
                best, argmin = value, subset
        return best, argmin

    return evaluate


def _add_pattern(
    patterns: dict[tuple[str, ...], list[float]],
    dedicated: float,
    adjusted: Sequence[tuple[float, str]],
) -> None:
    """Add a unit's sorted adjusted shared costs to the sums of its pattern."""
    key = tuple(s for c, s in adjusted if c < dedicated)
    sums = patterns.setdefault(key, [0.0] * (len(key) + 1))
    for i, (c, _) in enumerate(adjusted[: len(key)]):
        sums[i] += c
    sums[-1] += dedicated
