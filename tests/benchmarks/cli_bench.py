"""Start-up cost of the ``skaal`` command: wall and CPU time per invocation.

Each case runs as a fresh process, ``--repeat`` times; the table shows the
best and the median wall time and CPU time (user + system of the child).  On
a shared machine the wall median is noisy: compare CPU times, and the best
wall time, between runs.

* ``plan``: ``skaal plan app.py:app --target aws --no-write`` on a generated
  app of ``--resources`` Maps with varied sizes and read rates (the issue's
  target: <= 0.3 s wall for 10 resources), printed as tables;
* ``plan --json``: the same plan as JSON (no rich), writing the lock;
* ``import app``: only the app's declarations and its blueprint, the part of
  the plan's start-up that every command pays;
* ``--help``, ``import skaal`` and ``python -c pass`` (the interpreter's own
  start-up on this machine, which every case pays).

Byte code is cached as for any installed package (a private
``PYTHONPYCACHEPREFIX``, even where ``PYTHONDONTWRITEBYTECODE`` is set, and one
unmeasured warm-up run per case): otherwise every module edited since its
``.pyc`` was written is compiled again on each run and dominates the figures.

``--imports`` adds where the plan's time goes: the top-level imports of one
``python -X importtime`` run (best of ``--repeat``), largest first.  Modules
imported inside functions show up as top-level entries when first used.

    python tests/benchmarks/cli_bench.py [--resources 10] [--repeat 21] [--imports]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_MAIN = "from skaal.cli.main import main; main()"
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( +)(\S+)")


def write_app(folder: Path, resources: int) -> None:
    """``app.py`` declaring ``resources`` Maps of 1..50 GB and 10..500 reads/s."""
    lines = ["from skaal import App, Map", "", 'app = App("bench")', ""]
    for i in range(resources):
        size, reads = i % 50 + 1, 10 * (i % 50 + 1)
        lines += [
            "",
            f'@app.storage(read_latency="< 50ms", durability="persistent", '
            f'size="{size}GB", reads="{reads}/s")',
            f"class R{i}(Map[str, int]): ...",
        ]
    (folder / "app.py").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cached_bytecode_env(folder: Path) -> dict[str, str]:
    """The environment with byte code written to and read from ``folder``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(folder)
    return env


def measure(
    command: list[str], cwd: Path, env: dict[str, str], repeat: int
) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of ``repeat`` runs of ``command``, after one warm-up run."""
    walls: list[float] = []
    cpus: list[float] = []
    for run in range(repeat + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
        if run:
            walls.append(wall)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


def import_costs(
    command: list[str], cwd: Path, env: dict[str, str], repeat: int
) -> dict[str, float]:
    """Top-level import name -> best cumulative milliseconds over ``repeat`` runs."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        done = subprocess.run(
            [command[0], "-X", "importtime", *command[1:]],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in done.stderr.splitlines():
            match = _IMPORT_LINE.match(line)
            if match and len(match.group(3)) == 1:
                name, ms = match.group(4), int(match.group(2)) / 1000
                best[name] = min(ms, best.get(name, ms))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=21)
    parser.add_argument("--imports", action="store_true", help="show the plan's import costs")
    args = parser.parse_args()
    python = sys.executable
    plan = [python, "-c", _MAIN, "plan", "app.py:app", "--target", "aws"]
    cases = {
        f"plan ({args.resources} resources)": [*plan, "--no-write"],
        "plan --json": [*plan, "--json"],
        "import app": [python, "-c", "import app; app.app.blueprint()"],
        "--help": [python, "-c", _MAIN, "--help"],
        "import skaal": [python, "-c", "import skaal"],
        "python -c pass": [python, "-c", "pass"],
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = cached_bytecode_env(folder / "pycache")
        write_app(folder, args.resources)
        print(f"{'case':26} {'wall best':>10} {'median':>8} {'cpu best':>10} {'median':>8}")
        for name, command in cases.items():
            walls, cpus = measure(command, folder, env, args.repeat)
            print(
                f"{name:26} {min(walls):10.3f} {statistics.median(walls):8.3f} "
                f"{min(cpus):10.3f} {statistics.median(cpus):8.3f}"
            )
        if args.imports:
            plan_case = cases[f"plan ({args.resources} resources)"]
            costs = import_costs(plan_case, folder, env, args.repeat)
            print(f"\ntop-level imports of plan, best of {args.repeat} (ms, cumulative)")
            for name, ms in sorted(costs.items(), key=lambda item: -item[1]):
                if ms >= 1.0:
                    print(f"{ms:8.1f}  {name}")
            print(f"{sum(costs.values()):8.1f}  total")


if __name__ == "__main__":
    main()
