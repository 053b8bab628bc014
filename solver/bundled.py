"""Plan drawn apps against the bundled catalogs: ``python -m solver.bundled``.

Each row is one app of :mod:`solver.draws` (``profiles`` or ``users``) of
``n`` resources, written as Python source in a temporary folder and planned
against a catalog: the bundled ``aws`` and ``gcp``, or a file such as
``solver/catalogs/aws-2026-11.toml`` (the catalog of November 2026, one size
per server and four instances at most).  Every row runs in a fresh child
process, which measures:

``import s``
    importing the app module, its source compiled every time (every
    declaration records its ``file:line``);
``plan s`` / ``cpu s``
    :func:`skaal.solver.solve` on the app's blueprint, wall and CPU time
    (numpy's BLAS on one thread, as the planning commands run it);
``rss MB``
    the child's peak resident set;
``status``, ``total $/mo``, ``bound $/mo``
    the plan's status and total, and the proven lower bound of a
    ``best_found`` plan (``infeasible`` when the planner proves no plan
    exists: the first line of its explanation is printed below the table).

``--modules K`` writes each app as K modules of about n/K declarations
(:func:`solver.draws.write_app`), the way a large project is laid out: one
module of 100,000 declarations costs CPython about 1 GB to compile.

``--cli`` adds the wall time of the whole ``skaal plan APP:app --catalog
CATALOG --no-write --json`` process, which is what a user waits for, run
as Python runs by default (whatever ``PYTHONDONTWRITEBYTECODE`` says in the
bench's shell): ``first cli s`` the first run, which compiles the app's
modules and keeps their bytecode (0.04 s at 1,000 declarations, 0.45 s at
10,000), ``cli s`` the runs after it, which read that bytecode, as every
plan of an unchanged app does.  Times are single runs; use ``--repeat``
for the median of several (of ``cli s``; ``first cli s`` is always one).

``--seeds S1,S2`` plans several draws of each size (seed 2026 by default);
``--audit`` checks every plan by the oracle's own rules
(:func:`solver.oracle.audit`) and prints what is wrong with any, below
the table: a plan must hold each resource on a backend that serves it and
each server's resources on its instances, whatever its status says.

``--replan`` measures what a user waits for when planning again: for each
app, ``skaal plan APP:app --catalog CATALOG`` writes the lock and prints
the plan (the first plan), then the same command reads that lock, keeps its
placements and writes it again (the re-plan).  Each process's CPU (user +
sys), wall time and peak resident set are printed for both, and ``same
lock`` says whether the re-plan wrote the first lock byte for byte.  With
``--repeat`` the re-plan runs that many times (the first plan once) and the
medians are printed.

Examples::

    python -m solver.bundled                                   # the default table
    python -m solver.bundled --catalogs aws --draws profiles --sizes 1000,10000 --cli
    python -m solver.bundled --catalogs solver/catalogs/aws-2026-11.toml --sizes 10000
    python -m solver.bundled --catalogs aws --draws profiles --sizes 100000 --modules 100
    python -m solver.bundled --catalogs aws --draws profiles --sizes 100000 --modules 100 --replan
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from solver.draws import DRAWS, SEED, write_app

__all__ = ["main", "measure", "measure_replan"]

ROOT = Path(__file__).resolve().parent.parent
_CHILD = r"""
import importlib.util, json, os, resource, sys, time
path, catalog, audited = sys.argv[1], sys.argv[2], sys.argv[3] == "audit"
sys.path.insert(0, os.path.dirname(path))  # the app's other modules, if written as several
t0 = time.perf_counter()
spec = importlib.util.spec_from_file_location("benchapp", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
imported = time.perf_counter() - t0
blueprint = module.app.blueprint()
from skaal.catalog import load_catalog
from skaal.errors import UnsatisfiableError
from skaal.solver import solve
cat = load_catalog(catalog)
w0, c0 = time.perf_counter(), time.process_time()
row = {"import_s": imported}
try:
    plan = solve(blueprint, cat)
    row.update(status=plan.status, total=plan.total_monthly_cost, bound=plan.lower_bound)
except UnsatisfiableError as exc:
    plan = None
    row.update(status="infeasible", total=None, bound=None, why=str(exc).splitlines()[1])
row.update(plan_s=time.perf_counter() - w0, cpu_s=time.process_time() - c0)
row["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if audited and plan is not None:  # after the figures: the oracle's own work is not measured
    from solver.oracle import audit, read_catalog
    row["problems"] = audit(plan, blueprint, read_catalog(catalog))
print(json.dumps(row))
"""


def _skaal_command() -> list[str]:
    script = Path(sys.executable).with_name("skaal")
    if script.exists():
        return [str(script)]
    found = shutil.which("skaal")
    return [found] if found else [sys.executable, "-m", "skaal.cli.main"]


def measure(
    catalog: str,
    draw: str,
    n: int,
    *,
    folder: Path,
    cli: bool = False,
    repeat: int = 1,
    modules: int = 1,
    seed: int = SEED,
    audited: bool = False,
) -> dict[str, Any]:
    """One row: plan the ``draw`` of ``n`` resources against ``catalog`` in a child process
    (``audited``: the plan checked by the oracle, its problems in ``row["problems"]``)."""
    name = f"{draw}{n}" if modules == 1 else f"{draw}{n}_in{modules}"
    if seed != SEED:
        name += f"_seed{seed}"
    app = write_app(folder / f"{name}.py", draw, n, modules=modules, seed=seed)
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(app), catalog, "audit" if audited else "-"],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            # import s: compiled each time; BLAS on one thread, as skaal plan runs it
            env={"OPENBLAS_NUM_THREADS": "1", **os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    row: dict[str, Any] = dict(runs[-1])
    for key in ("import_s", "plan_s", "cpu_s"):
        row[key] = statistics.median(r[key] for r in runs)
    row.update(catalog=catalog, draw=draw, n=n, seed=seed)
    if cli:
        command = [*_skaal_command(), "plan", f"{app}:app", "--catalog", catalog]
        command += ["--no-write", "--json"]
        # Python's own default, whatever this shell sets: the first run compiles the
        # app's modules and keeps their bytecode, every later run reads it
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for cache in app.parent.glob("__pycache__"):
            shutil.rmtree(cache)
        walls = []
        expected = 1 if row["status"] == "infeasible" else 0  # no plan: exit 1, explained
        for _ in range(repeat + 1):
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, check=False, cwd=folder, env=env)
            walls.append(time.perf_counter() - start)
            if done.returncode != expected:
                raise RuntimeError(
                    f"skaal plan {name} exited {done.returncode}, not {expected}:"
                    f" {done.stderr.decode('utf-8', 'replace').strip()[-2000:]}"
                )
        row["first_cli_s"] = walls[0]
        row["cli_s"] = statistics.median(walls[1:])
    return row


def _process(command: list[str], cwd: Path) -> dict[str, Any]:
    """Run ``command`` to its end: its exit code, wall and CPU seconds, and peak MB."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stderr.close()
    return {
        "exit": child.returncode,
        "errors": errors.decode("utf-8", "replace").strip(),
        "wall_s": time.perf_counter() - start,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
    }


def measure_replan(
    catalog: str,
    draw: str,
    n: int,
    *,
    folder: Path,
    repeat: int = 1,
    modules: int = 1,
) -> dict[str, Any]:
    """One ``--replan`` row: the first ``skaal plan`` (writing the lock), then the re-plan."""
    name = f"{draw}{n}" if modules == 1 else f"{draw}{n}_in{modules}"
    home = folder / name
    home.mkdir(exist_ok=True)
    app = write_app(home / f"{name}.py", draw, n, modules=modules)
    lock = home / "skaal.lock"
    lock.unlink(missing_ok=True)
    command = [*_skaal_command(), "plan", f"{app.name}:app", "--catalog", _catalog_ref(catalog)]
    first = _process(command, home)
    if first["exit"] != 0:
        raise SystemExit(f"the first plan of {name} failed:\n{first['errors']}")
    written = lock.read_bytes()
    runs = []
    for _ in range(repeat):
        runs.append(_process(command, home))
        if runs[-1]["exit"] != 0:
            raise SystemExit(f"the re-plan of {name} failed:\n{runs[-1]['errors']}")
    row: dict[str, Any] = {"catalog": catalog, "draw": draw, "n": n, "modules": modules}
    for key in ("wall_s", "cpu_s", "rss_mb"):
        row[f"first_{key}"] = first[key]
        row[f"replan_{key}"] = statistics.median(r[key] for r in runs)
    row["same_lock"] = lock.read_bytes() == written
    return row


def _catalog_ref(catalog: str) -> str:
    """A catalog file as an absolute path (the commands run in the app's folder); a name as is."""
    path = Path(catalog)
    return str(path.resolve()) if path.suffix == ".toml" else catalog


def _replan_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"{'catalog':>22} {'draw':>9} {'n':>7} {'modules':>7} {'first cpu s':>11} "
        f"{'wall s':>7} {'MB':>6} {'re-plan cpu s':>13} {'wall s':>7} {'MB':>6} {'same lock':>9}"
    ]
    for r in rows:
        lines.append(
            f"{Path(r['catalog']).stem:>22} {r['draw']:>9} {r['n']:>7,} {r['modules']:>7} "
            f"{r['first_cpu_s']:>11.2f} {r['first_wall_s']:>7.2f} {r['first_rss_mb']:>6.0f} "
            f"{r['replan_cpu_s']:>13.2f} {r['replan_wall_s']:>7.2f} {r['replan_rss_mb']:>6.0f} "
            f"{'yes' if r['same_lock'] else 'NO':>9}"
        )
    return "\n".join(lines)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'catalog':>22} {'draw':>9} {'n':>7} {'seed':>5} {'import s':>9} {'plan s':>8} "
        f"{'cpu s':>7} {'first cli s':>11} {'cli s':>7} {'rss MB':>7} {'status':>11} "
        f"{'total $/mo':>15} "
        f"{'bound $/mo':>15}"
    )
    lines = [head]
    notes = []
    for r in rows:
        cli = f"{r['cli_s']:.3f}" if "cli_s" in r else "-"
        first = f"{r['first_cli_s']:.3f}" if "first_cli_s" in r else "-"
        lines.append(
            f"{Path(r['catalog']).stem:>22} {r['draw']:>9} {r['n']:>7,} {r['seed']:>5} "
            f"{r['import_s']:>9.3f} {r['plan_s']:>8.3f} {r['cpu_s']:>7.3f} {first:>11} "
            f"{cli:>7} {r['rss_mb']:>7.0f} "
            f"{r['status']:>11} {_money(r['total']):>15} {_money(r['bound']):>15}"
        )
        label = f"{Path(r['catalog']).stem} {r['draw']} {r['n']:,} (seed {r['seed']})"
        if "why" in r:
            notes.append(f"{label}: {r['why'].strip()}")
        if r.get("problems"):
            count = len(r["problems"])
            notes.append(f"{label}: INVALID, {count} problem(s), first: {r['problems'][0]}")
    audited = [r for r in rows if "problems" in r]
    if audited and not any(r["problems"] for r in audited):
        notes.append(f"every plan of the {len(audited)} audited by the oracle is valid")
    return "\n".join(lines + notes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m solver.bundled", description=__doc__)
    parser.add_argument("--catalogs", default="aws,gcp")
    parser.add_argument("--draws", default=",".join(DRAWS))
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument(
        "--seeds", default=str(SEED), help=f"draws per size, comma-separated (default {SEED})"
    )
    parser.add_argument(
        "--audit", action="store_true", help="check every plan by the oracle's own rules"
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--modules", type=int, default=1, help="write each app as K modules")
    parser.add_argument("--cli", action="store_true", help="also time the skaal plan command")
    parser.add_argument(
        "--replan", action="store_true", help="time a first plan writing the lock, then a re-plan"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.modules < 1:
        parser.error("--repeat and --modules take a whole number of at least 1")
    sizes = [int(x) for x in args.sizes.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    if args.replan and (seeds != [SEED] or args.audit):
        parser.error(f"--replan plans the draws of seed {SEED}, unaudited")
    rows = []
    table = _replan_table if args.replan else _table
    with tempfile.TemporaryDirectory() as tmp:
        for catalog in args.catalogs.split(","):
            for draw in args.draws.split(","):
                for n, seed in itertools.product(sizes, seeds):
                    common = {"folder": Path(tmp), "repeat": args.repeat, "modules": args.modules}
                    if args.replan:
                        rows.append(measure_replan(catalog, draw, n, **common))
                    else:
                        rows.append(
                            measure(
                                catalog,
                                draw,
                                n,
                                cli=args.cli,
                                seed=seed,
                                audited=args.audit,
                                **common,
                            )
                        )
                    if not args.json:
                        print(table(rows[-1:]).splitlines()[1], flush=True)
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
