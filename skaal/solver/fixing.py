"""Reduced-cost fixing: drop the options no plan cheaper than a known one can use.

Before z3 looks for a plan strictly cheaper than a known plan of cost
``U``, the Lagrangian of :mod:`.bounds` removes most of its choices.  For
multipliers ``λ ≥ 0`` and a plan opening the shared set ``O`` (``n_s ≥ 1``
instances of each ``s ∈ O``), with every unit ``u`` on ``b_u``::

    cost = Σ_u c[u,b_u] + Σ_{s∈O} f_s · n_s
         ≥ Σ_u c_λ[u,b_u] + Σ_{s∈O} n_s · (f_s − Σ_d λ[s,d] · cap[s,d])   (capacity, λ ≥ 0)
         ≥ L_O(λ) + Σ_u (c_λ[u,b_u] − m_u(O))

    m_u(O) = min_{b ∈ ded(u) ∪ O} c_λ[u,b] ,   L_O(λ) = Σ_{s∈O} g_s(λ) + Σ_u m_u(O)

with ``c_λ`` and ``g_s`` as in :mod:`.bounds`.  Every summand of the last sum
is ``≥ 0``, so a plan putting ``u`` on ``b`` costs at least ``L_O(λ) +
c_λ[u,b] − m_u(O)``.  When that exceeds ``U − 1`` for every ``O`` allowing
``b`` (costs are whole micro-dollars), no plan cheaper than ``U`` puts ``u``
on ``b``, and the option is dropped.  A unit left with no option means no
plan is cheaper than ``U``: the known plan is optimal.

The closer ``U`` is to the optimum, the more is dropped: with ``U`` at the
optimum a 46-unit component measured 207 options reduced to 75, and z3
proved nothing cheaper exists in 0.1 s where the unreduced model timed out.
Cost: ``O(2^S · N · k)`` for ``S`` shared backends (at most
:data:`~.bounds.MAX_ENUMERATED`), ``N`` units of ``k`` options; float sums
keep a margin of ``10⁻³`` micro-dollars so rounding never drops an option
that a cheaper plan could use.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

from skaal.solver.bounds import MAX_ENUMERATED, Multipliers, Shared
from skaal.solver.decompose import Unit

__all__ = ["fix"]


def fix(
    part: Sequence[Unit], shared: Mapping[str, Shared], lam: Multipliers, upper: int
) -> tuple[Unit, ...] | None:
    """``part`` without the options no plan cheaper than ``upper`` uses (module docstring).

    None when no plan is cheaper than ``upper``.  ``part`` is returned
    unchanged when its shared backends are too many to enumerate.
    """
    names = tuple(sorted({o.backend for u in part for o in u.options if o.backend in shared}))
    if len(names) > MAX_ENUMERATED:
        return tuple(part)
    adjusted = [
        [
            (
                o.backend,
                o.cost + sum(lam.get((o.backend, d), 0.0) * use for d, use in enumerate(u.usage)),
            )
            for o in u.options
        ]
        for u in part
    ]
    fees: dict[str, float] = {}
    for s in names:
        spec = shared[s]
        g = spec.fee - sum(
            lam.get((s, d), 0.0) * cap for d, cap in enumerate(spec.capacity) if cap is not None
        )
        fees[s] = g if g >= 0 else g * spec.max_instances
    least = [[math.inf] * len(u.options) for u in part]
    for size in range(len(names) + 1):
        for opened in itertools.combinations(names, size):
            allowed = set(opened)
            mins = [
                min((c for b, c in row if b not in shared or b in allowed), default=math.inf)
                for row in adjusted
            ]
            base = sum(fees[s] for s in opened) + sum(mins)
            if not math.isfinite(base):
                continue  # some unit has no option under this opened set
            for row, floor, out in zip(adjusted, mins, least, strict=True):
                for i, (b, c) in enumerate(row):
                    if (b not in shared or b in allowed) and base + c - floor < out[i]:
                        out[i] = base + c - floor
    cut = upper - 1 + 1e-3 + 1e-12 * abs(upper)
    units: list[Unit] = []
    for unit, bounds in zip(part, least, strict=True):
        options = tuple(o for o, b in zip(unit.options, bounds, strict=True) if b <= cut)
        if not options:
            return None
        units.append(
            unit if len(options) == len(unit.options) else Unit(unit.members, options, unit.usage)
        )
    return tuple(units)
