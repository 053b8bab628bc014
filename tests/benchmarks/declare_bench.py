"""Import cost of an app module with many declarations, as whole processes.

For each size ``n`` this writes ``benchapp_<n>.py``, declaring ``n`` Maps the
way users write them (``@app.storage(read_latency=..., durability=...,
size=..., reads=...)`` above ``class R<i>(Map[str, int])``, nine latency and
durability profiles, varied sizes and read rates), and times fresh processes:

* ``classes``: the same module without the decorators: what Python itself
  spends creating ``n`` generic classes, plus importing the declaration API;
* ``import``: ``python -c "import benchapp_<n>"``;
* ``blueprint``: the import and ``app.blueprint()``.

Each case runs ``--repeat`` times after one unmeasured warm-up run, with byte
code cached (see ``cli_bench.py``); the table shows the best and the median
wall and CPU time, and the CPU microseconds per declaration that the
decorators add to the ``classes`` baseline (best against best).  Linear
growth shows as a flat ``us/decl`` column across sizes.  No profiler: a
profile hook changes how CPython tracks line numbers, which is one of the
costs measured here.

To compare with another checkout, put it first on the path:
``PYTHONPATH=/path/to/other/checkout python tests/benchmarks/declare_bench.py``.

    python tests/benchmarks/declare_bench.py [--sizes 1000,10000,30000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from cli_bench import cached_bytecode_env, measure

#: (read_latency, durability): the nine profiles the planner's benchmarks draw from.
_PROFILES = [
    (latency, durability)
    for latency in ("< 5ms", "< 20ms", "< 100ms")
    for durability in ("ephemeral", "persistent", "durable")
]


def app_source(n: int, *, decorated: bool = True) -> str:
    """An app module declaring ``n`` Maps (or, undecorated, only their classes)."""
    lines = ["from skaal import App, Map", "", 'app = App("bench")', ""]
    for i in range(n):
        latency, durability = _PROFILES[i % len(_PROFILES)]
        size = f"{(i * 37) % 5000 / 10 + 0.1:g}GB"
        reads = f"{(i * 13) % 20000 + 1}/s"
        lines.append("")
        if decorated:
            lines.append(
                f'@app.storage(read_latency="{latency}", durability="{durability}", '
                f'size="{size}", reads="{reads}")'
            )
        lines.append(f"class R{i}(Map[str, int]): ...")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,30000", help="comma-separated counts")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = cached_bytecode_env(folder / "pycache")
        print(
            f"{'declarations':>12} {'case':10} {'wall best':>10} {'median':>8} "
            f"{'cpu best':>10} {'median':>8} {'us/decl':>8}"
        )
        for n in sizes:
            (folder / f"benchapp_{n}.py").write_text(app_source(n), encoding="utf-8")
            (folder / f"benchclasses_{n}.py").write_text(
                app_source(n, decorated=False), encoding="utf-8"
            )
            cases = {
                "classes": f"import benchclasses_{n}",
                "import": f"import benchapp_{n}",
                "blueprint": f"import benchapp_{n}; benchapp_{n}.app.blueprint()",
            }
            baseline = 0.0
            for name, code in cases.items():
                walls, cpus = measure([python, "-c", code], folder, env, args.repeat)
                if name == "classes":
                    baseline = min(cpus)
                    per = ""
                else:
                    per = f"{(min(cpus) - baseline) / n * 1e6:8.1f}"
                print(
                    f"{n:>12,} {name:10} {min(walls):10.3f} {statistics.median(walls):8.3f} "
                    f"{min(cpus):10.3f} {statistics.median(cpus):8.3f} {per:>8}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
