"""Benchmark the planner: ``python -m solver.bench [--sizes 10,100] [--repeat 3] [--json]``.

For every size ``n`` two generated apps (:mod:`solver.generate`) are planned:

``independent``
    no coupling: every resource is durable, no shared backend qualifies, no
    co-location, no budget.
``coupled``
    20 % of the resources can use shared instances (so at ``n = 10,000``
    about 2,000 are coupled), ``n / 100`` co-location pairs (at least one),
    a budget of 1.2 times the unconstrained optimum, and shared backends
    allowed ``max(1, n / 200)`` times their catalog quota.  The
    instances' capacity binds: this is the hard case (bin packing).
``slack``
    the same app, budget and co-location as ``coupled``, but every shared
    instance holds ``n`` times its catalog capacity, so capacity never binds:
    the coupling is the shared fee paid once per opened backend.

Each row is measured in a fresh child process (so peak memory is that of one
row): ``plan s`` is the median wall time of ``skaal.solver.solve`` over
``--repeat`` runs (``time.perf_counter``, after one untimed warm-up run that
also fixes the budget), ``cpu s`` is the median CPU time of the same runs
(``time.process_time``: steadier than wall time on a busy machine),
``filter s`` times the feasibility filter alone,
``rss MB`` is the child's peak resident set (``ru_maxrss``, includes the
interpreter, z3 and the generated instance) and ``py MB`` the peak of Python
allocations during one ``solve`` (``tracemalloc``; z3's native memory is not
in it).  ``--verify`` also solves each row with the HiGHS oracle
(:mod:`solver.oracle`) and prints whether the totals agree to half a cent.

``cli s`` is the wall time of ``skaal plan APP.py:app --catalog CATALOG.toml
--no-write --json`` as a subprocess, on the same app written as Python source
and the catalog written as TOML in a temporary directory (median of
``--repeat``); it uses the ``skaal`` console script when it is on ``PATH``,
else ``python -c "from skaal.cli.main import main; main()"``.

Targets: 10,000 resources with at least 1,000 coupled planned in at most
1 s in-process and proven optimal; ``skaal plan`` on a 10-resource app in at
most 0.3 s wall.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skaal.catalog.model import Catalog
from skaal.solver import solve
from skaal.solver.feasibility import build_problem
from solver import generate
from solver.oracle import solve_exact
from solver.oracle_catalog import read_catalog

if TYPE_CHECKING:
    from skaal.plan.model import Plan
    from solver.oracle import Answer

__all__ = ["main", "measure"]

SIZES = (10, 100, 1000, 10_000)
QUICK_SIZES = (10, 100, 1000)
CONFIGS = ("independent", "slack", "coupled")
SEED = 2026
#: The oracle sums unrounded prices, the plan its lines rounded to 1e-6 dollars.
TOLERANCE = 0.005
CLI_TIMEOUT_S = 600.0
ROOT = Path(__file__).resolve().parent.parent


def _drafts(n: int, config: str) -> tuple[generate.ResourceDraft, ...]:
    if config == "independent":
        return generate.generate_drafts(n, SEED, coupling=0.0, residency=0.1)
    return generate.generate_drafts(
        n, SEED, coupling=0.2, collocations=max(1, n // 100), residency=0.1
    )


def _catalog(n: int, config: str) -> Catalog:
    if config == "independent":
        return generate.generate_catalog(SEED)
    if config == "slack":
        return generate.generate_catalog(SEED, capacity=float(n))
    return generate.generate_catalog(SEED, scale=max(1.0, n / 200))


def measure(n: int, config: str, repeat: int, *, verify: bool) -> dict[str, Any]:
    """Plan one row in this process and return its figures."""
    drafts, catalog = _drafts(n, config), _catalog(n, config)
    blueprint = generate.build_blueprint(drafts)
    row: dict[str, Any] = {"n": n, "config": config, "coupled": sum(d.coupled for d in drafts)}
    warm = solve(blueprint, catalog)
    if config != "independent":
        blueprint = generate.with_limits(blueprint, budget=round(warm.total_monthly_cost * 1.2, 2))
    row["budget"] = blueprint.budget_usd_month
    row["pairs"] = sum(r.requirements.collocate_with is not None for r in blueprint.resources)
    times, cpu = [], []
    plan = warm
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        plan = solve(blueprint, catalog)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    row["plan_s"] = statistics.median(times)
    row["cpu_s"] = statistics.median(cpu)
    started = time.perf_counter()
    problem = build_problem(blueprint, catalog)
    row["filter_s"] = time.perf_counter() - started
    shared = {s.backend.name for s in problem.shared}
    row["with_shared_option"] = sum(
        any(o.backend in shared for o in r.options) for r in problem.resources
    )
    row["status"] = plan.status
    row["total"] = plan.total_monthly_cost
    row["instances"] = len(plan.instances)
    tracemalloc.start()
    solve(blueprint, catalog)
    row["py_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    row["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if verify:
        with tempfile.TemporaryDirectory(prefix="skaal-oracle-") as tmp:
            path = Path(tmp) / "catalog.toml"
            path.write_text(generate.catalog_toml(catalog))
            started = time.perf_counter()
            oracle = solve_exact(blueprint, read_catalog(path))
        row["oracle_s"] = time.perf_counter() - started
        row["oracle_status"] = oracle.status
        row["oracle_total"] = oracle.total
        row["agrees"] = _agrees(plan, oracle)
    return row


def _agrees(plan: Plan, oracle: Answer) -> str:
    """``yes``: the same optimum; ``within bound``: a best-found plan whose bound holds."""
    if oracle.status != "optimal" or oracle.total is None:
        return "unknown"
    gap = plan.total_monthly_cost - oracle.total
    if plan.status == "optimal":
        return "yes" if abs(gap) <= TOLERANCE else f"NO ({gap:+,.2f})"
    bound = plan.lower_bound
    if bound is not None and bound <= oracle.total + TOLERANCE and gap >= -TOLERANCE:
        return f"within [{bound:,.2f}, {plan.total_monthly_cost:,.2f}]"
    return "NO"


def _child(n: int, config: str, repeat: int, *, verify: bool) -> dict[str, Any]:
    """Run :func:`measure` in a fresh interpreter; errors become a row with ``error``."""
    command = [sys.executable, "-m", "solver.bench", "--child", f"{n}:{config}"]
    command += ["--repeat", str(repeat)] + (["--verify"] if verify else [])
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if done.returncode != 0:
        lines = (done.stderr.strip() or done.stdout.strip() or "failed").splitlines()
        return {"n": n, "config": config, "error": lines[-1]}
    # HiGHS may print to stdout from C++; the row is the last line.
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _pythonpath() -> str:
    return os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


def _skaal_command() -> tuple[list[str], str]:
    script = shutil.which("skaal")
    if script is not None:
        return [script], "skaal"
    return [sys.executable, "-c", "from skaal.cli.main import main; main()"], "python -c"


def cli_time(n: int, config: str, repeat: int, budget: float | None) -> dict[str, Any]:
    """Median wall time of ``skaal plan`` on the row's app written to files."""
    drafts, catalog = _drafts(n, config), _catalog(n, config)
    command, how = _skaal_command()
    with tempfile.TemporaryDirectory(prefix="skaal-bench-") as tmp:
        folder = Path(tmp)
        (folder / "benchapp.py").write_text(generate.app_source(drafts, budget=budget))
        (folder / "catalog.toml").write_text(generate.catalog_toml(catalog))
        argv = [*command, "plan", "benchapp.py:app", "--catalog", "catalog.toml"]
        argv += ["--no-write", "--json"]
        env = {**os.environ, "PYTHONPATH": _pythonpath()}
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    argv,
                    capture_output=True,
                    text=True,
                    cwd=folder,
                    env=env,
                    check=False,
                    timeout=CLI_TIMEOUT_S,
                )
            except subprocess.TimeoutExpired:
                return {"cli_error": f"no answer in {CLI_TIMEOUT_S:.0f} s", "cli": how}
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                lines = (done.stderr.strip() or "failed").splitlines()
                return {"cli_error": f"exit {done.returncode}: {lines[0][:120]}", "cli": how}
    return {"cli_s": statistics.median(times), "cli": how}


def _fmt(row: dict[str, Any]) -> list[str]:
    if "error" in row:
        return [f"{row['n']:,}", row["config"], "error: " + row["error"][:90]]
    cells = [
        f"{row['n']:,}",
        row["config"],
        f"{row['with_shared_option']:,}",
        str(row["pairs"]),
        "-" if row["budget"] is None else f"{row['budget']:,.2f}",
        f"{row['plan_s']:.3f}",
        f"{row['cpu_s']:.3f}",
        f"{row['filter_s']:.3f}",
        f"{row['rss_mb']:.0f}",
        f"{row['py_mb']:.1f}",
        row["status"],
        f"{row['total']:,.2f}",
        f"{row['cli_s']:.2f}" if "cli_s" in row else row.get("cli_error", "-")[:40],
    ]
    if "agrees" in row:
        cells.append(f"{row['agrees']} ({row['oracle_s']:.1f}s)")
    return cells


HEADER = [
    "n", "config", "coupled", "pairs", "budget", "plan s", "cpu s", "filter s", "rss MB", "py MB",
    "status", "total $/mo", "cli s",
]  # fmt: skip


def _table(rows: list[dict[str, Any]]) -> str:
    header = HEADER + (["oracle agrees"] if any("agrees" in r for r in rows) else [])
    body = [_fmt(r) for r in rows]
    padded = [b + [""] * (len(header) - len(b)) for b in body]
    widths = [max(len(x) for x in col) for col in zip(header, *padded, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=False))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(b, widths, strict=False)) for b in body]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.bench", description=__doc__)
    parser.add_argument("--sizes", help="comma-separated resource counts (default 10,...,10000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per row (median)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument("--quick", action="store_true", help="sizes up to 1,000, one run each")
    parser.add_argument("--verify", action="store_true", help="check totals with the oracle")
    parser.add_argument("--no-cli", action="store_true", help="skip timing the skaal CLI")
    parser.add_argument(
        "--configs", help=f"comma-separated rows to run (default {','.join(CONFIGS)})"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        n, config = args.child.split(":")
        print(json.dumps(measure(int(n), config, args.repeat, verify=args.verify)))
        return 0
    sizes: tuple[int, ...] = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(s.replace("_", "")) for s in args.sizes.split(","))
    repeat = 1 if args.quick else args.repeat
    configs = tuple(args.configs.split(",")) if args.configs else CONFIGS
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown config {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    rows = []
    for n in sizes:
        for config in configs:
            row = _child(n, config, repeat, verify=args.verify)
            if not args.no_cli:
                row.update(cli_time(n, config, repeat, row.get("budget")))
            rows.append(row)
            print(f"measured {json.dumps(row)}", file=sys.stderr, flush=True)
    print(json.dumps(rows, indent=2) if args.json else _table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
