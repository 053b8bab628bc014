"""Where a ``best_found`` gap comes from: the plan above the optimum, or the bound below it?

The planner ends ``best_found`` with its plan's total ``P`` and a proven
lower bound ``B``; the optimum ``O`` lies between them.  The independent
oracle (:func:`solver.oracle.solve_exact`), stopped by a node limit (a
deterministic unit of work), gives a plan of its own ``P'`` and its proven
bound ``B'``, so ``max(B, B') ≤ O ≤ min(P, P')``.  Then:

* ``P - min(P, P')`` is how much the planner's plan is *at least* above the
  optimum (it is above the oracle's plan);
* ``max(B, B') - B`` is how much the planner's bound is *at least* below it;
* what is left, ``min(P, P') - max(B, B')``, is still unknown.

Usage (from the repository root)::

    python -m solver.gaps --catalogs aws --sizes 200,300 --nodes 2000
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

from skaal.blueprint.model import Blueprint
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from solver.draws import DRAWS, draw_blueprint, write_app
from solver.oracle import read_catalog, solve_exact

__all__ = ["Gap", "gap", "main"]


@dataclass(frozen=True, slots=True)
class Gap:
    """The planner's plan and bound against the oracle's, for one app (dollars a month)."""

    status: str
    plan: float
    bound: float
    oracle_status: str
    oracle_plan: float
    oracle_bound: float

    @property
    def plan_above(self) -> float:
        """At least this much of the gap is the planner's plan above the optimum."""
        return max(0.0, self.plan - self.oracle_plan)

    @property
    def bound_below(self) -> float:
        """At least this much of the gap is the planner's bound below the optimum."""
        return max(0.0, self.oracle_bound - self.bound)

    @property
    def unknown(self) -> float:
        """The rest: the optimum lies somewhere in it."""
        return max(0.0, min(self.plan, self.oracle_plan) - max(self.bound, self.oracle_bound))


def gap(blueprint: Blueprint, catalog: str, *, nodes: int) -> Gap:
    """Plan ``blueprint`` on the bundled or named ``catalog`` with both solvers."""
    plan = solve(blueprint, load_catalog(catalog))
    answer = solve_exact(blueprint, read_catalog(catalog), node_limit=nodes)
    if answer.total is None or answer.bound is None:
        raise ValueError(f"the oracle found no plan with its bound: {answer.status} {answer.why}")
    total = plan.total_monthly_cost
    bound = total if plan.lower_bound is None else plan.lower_bound
    return Gap(plan.status, total, bound, answer.status, answer.total, answer.bound)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.gaps", description=__doc__)
    parser.add_argument("--catalogs", default="aws")
    parser.add_argument("--draw", default="users", choices=DRAWS)
    parser.add_argument("--sizes", default="200,300")
    parser.add_argument("--nodes", type=int, default=2000, help="the oracle's node limit")
    args = parser.parse_args(argv)
    header = ("catalog", "n", "status", "plan", "bound", "oracle", "o. plan", "o. bound")
    print(
        f"{header[0]:>8} {header[1]:>6} {header[2]:>10} {header[3]:>14} {header[4]:>14}"
        f" {header[5]:>10} {header[6]:>14} {header[7]:>14}"
        "   plan above   bound below   unknown"
    )
    with tempfile.TemporaryDirectory() as folder:
        for catalog in args.catalogs.split(","):
            for n in (int(s) for s in args.sizes.split(",")):
                app = write_app(Path(folder) / f"{args.draw}{n}.py", args.draw, n)
                row = gap(draw_blueprint(app), catalog, nodes=args.nodes)
                print(
                    f"{catalog:>8} {n:>6,} {row.status:>10} {row.plan:>14,.2f} {row.bound:>14,.2f}"
                    f" {row.oracle_status:>10} {row.oracle_plan:>14,.2f} {row.oracle_bound:>14,.2f}"
                    f" {row.plan_above:>12,.2f} {row.bound_below:>13,.2f} {row.unknown:>9,.2f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
