"""Apps drawn the way users write them, as Python source, for planning benchmarks.

Two seeded draws, each written as an importable module with ``app`` in it:

``profiles``
    plain maps, each from one of nine ordinary profiles (:data:`PROFILES`):
    a ``read_latency`` from ``< 5ms`` to ``< 100ms`` and a ``durability``,
    nothing else declared.  ``< 5ms`` and durable together is left out: the
    published Skaal 0.3's catalog has no backend for it.  The same draw can be
    written for the published Skaal 0.3 (``Store`` instead of ``Map``), whose
    decorator takes the same two keywords, so both plan the same app.
``users``
    maps (50 %), collections (20 %), blobs (15 %) and queues (15 %) with
    sizes from 0.1 to 500 GB and traffic from 0 to 20,000 operations per
    second (log-uniform, a quarter left undeclared), latency and durability
    from the profiles above (a "< 5ms" store at most 20 GB and 1,000
    operations per second: past that people ask for a cluster; blobs ask
    "< 200ms" or "< 1s"), one resource in a hundred co-located with an
    earlier map of the same latency and durability, and an app budget of
    $5,000 per resource and month (S3 requests at 20,000/s cost thousands).

Numbers are rounded to two significant figures, as people write them.

``modules=K`` writes the same declarations the way a large project keeps
them, in K modules of about n/K each: ``STEM_core.py`` creates ``app``,
``STEM_part000.py`` ... declare on it, and ``STEM.py`` (the path given, so
``STEM:app`` is planned as before) imports them all.  One module of 100,000
declarations costs CPython about 1 GB just to compile; a hundred modules of
1,000 cost a hundredth of that at a time.  A ``users`` co-location names a
map of its own module.
"""

from __future__ import annotations

import importlib.util
import math
import random
from pathlib import Path

from skaal.blueprint.model import Blueprint

__all__ = ["DRAWS", "PROFILES", "SEED", "draw_blueprint", "write_app"]

#: The seed of the draws the tables of ``solver/README.md`` plan unless they say otherwise.
SEED = 2026

DRAWS = ("profiles", "users")
_LATENCIES = ("< 5ms", "< 20ms", "< 100ms")
_DURABILITIES = ("ephemeral", "persistent", "durable")
#: (read_latency, durability) of the ``profiles`` draw.
PROFILES: tuple[tuple[str, str], ...] = (
    ("< 5ms", "ephemeral"),
    ("< 5ms", "persistent"),
    ("< 20ms", "ephemeral"),
    ("< 20ms", "persistent"),
    ("< 20ms", "durable"),
    ("< 50ms", "durable"),
    ("< 100ms", "ephemeral"),
    ("< 100ms", "persistent"),
    ("< 100ms", "durable"),
)


def _two_figures(value: float) -> str:
    if value <= 0:
        return "0"
    digits = 1 - math.floor(math.log10(value))
    rounded = round(value, digits)
    return f"{rounded:g}"


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


#: One draw: the module's first lines (imports, ``app``), then each resource's lines.
_Drawn = tuple[list[str], list[list[str]]]


def _profiles(n: int, rng: random.Random, *, legacy: bool) -> _Drawn:
    base = "Store" if legacy else "Map"
    head = [f"from skaal import App, {base}", "", 'app = App("bench")', ""]
    blocks = []
    for i in range(n):
        latency, durability = rng.choice(PROFILES)
        blocks.append(
            [
                f'@app.storage(read_latency="{latency}", durability="{durability}")',
                f"class M{i}({base}[str]): ..." if legacy else f"class M{i}(Map[str, str]): ...",
            ]
        )
    return head, blocks


def _rate(rng: random.Random, high: float = 20000.0) -> str | None:
    if rng.random() < 0.25:
        return None
    if rng.random() < 0.1:
        return "0/s"
    return f"{_two_figures(_log_uniform(rng, 0.01, high))}/s"


def _users(n: int, rng: random.Random, *, per_module: int) -> _Drawn:
    head = [
        "from pydantic import BaseModel",
        "",
        "from skaal import App, BlobStore, Collection, Map, Queue",
        "",
        "",
        "class Doc(BaseModel):",
        "    id: str",
        "",
        f'app = App("bench", budget="${5000 * n}/month")',
        "",
    ]
    blocks: list[list[str]] = []
    maps: dict[tuple[str, str], list[str]] = {}
    for i in range(n):
        if i % per_module == 0:
            maps = {}  # co-locate within a module: a class of another is not in scope
        lines: list[str] = []
        blocks.append(lines)
        roll = rng.random()
        latency = rng.choice(_LATENCIES)
        durability = rng.choice(_DURABILITIES)
        fast = latency == _LATENCIES[0]
        size = f"{_two_figures(_log_uniform(rng, 0.1, 20.0 if fast else 500.0))}GB"
        high = 1000.0 if fast else 20000.0
        if roll < 0.15:
            messages = _rate(rng)
            args = [f'durability="{durability}"'] + ([f'messages="{messages}"'] if messages else [])
            lines.append(f"@app.queue({', '.join(args)})")
            lines.append(f"class Q{i}(Queue[str]): ...")
            continue
        if roll < 0.3:  # object stores answer in tens of milliseconds
            latency = rng.choice(("< 200ms", "< 1s"))
        args = [f'read_latency="{latency}"', f'durability="{durability}"', f'size="{size}"']
        for keyword in ("reads", "writes"):
            rate = _rate(rng, high)
            if rate is not None:
                args.append(f'{keyword}="{rate}"')
        if roll < 0.3:
            lines.append(f"@app.blob({', '.join(args)})")
            lines.append(f"class B{i}(BlobStore): ...")
            continue
        peers = maps.get((latency, durability))
        if peers and rng.random() < 0.01:
            args.append(f"collocate_with={rng.choice(peers)}")
        if roll < 0.5:
            lines.append(f"@app.storage({', '.join(args)})")
            lines.append(f"class C{i}(Collection[Doc]): ...")
        else:
            lines.append(f"@app.storage({', '.join(args)})")
            lines.append(f"class M{i}(Map[str, str]): ...")
            maps.setdefault((latency, durability), []).append(f"M{i}")
    return head, blocks


def write_app(
    path: Path,
    draw: str,
    n: int,
    *,
    seed: int = SEED,
    legacy: bool = False,
    modules: int = 1,
) -> Path:
    """Write the ``draw`` of ``n`` resources to ``path`` (``legacy``: for Skaal 0.3).

    ``modules`` > 1 spreads the declarations over that many modules beside
    ``path`` (see the module docstring); ``path`` is still the one to plan.
    """
    if modules < 1:
        raise ValueError(f"modules must be at least 1, not {modules}")
    per_module = max(1, math.ceil(n / modules))
    rng = random.Random(f"{draw}:{n}:{seed}")
    if draw == "profiles":
        head, blocks = _profiles(n, rng, legacy=legacy)
    elif draw == "users":
        if legacy:
            raise ValueError("the users draw uses kinds Skaal 0.3 does not declare the same way")
        head, blocks = _users(n, rng, per_module=per_module)
    else:
        raise ValueError(f"unknown draw {draw!r}; choose one of {', '.join(DRAWS)}")
    if modules == 1:
        lines = head + [line for block in blocks for line in block]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    _write_modules(path, head, blocks, per_module)
    return path


def _write_modules(path: Path, head: list[str], blocks: list[list[str]], per_module: int) -> None:
    stem = path.stem
    (path.parent / f"{stem}_core.py").write_text("\n".join(head) + "\n", encoding="utf-8")
    kinds = next(line for line in head if line.startswith("from skaal import "))
    kinds = kinds.removeprefix("from skaal import ").replace("App, ", "")
    core = "Doc, app" if any(line.startswith("class Doc") for line in head) else "app"
    parts = []
    for first in range(0, len(blocks), per_module):
        part = f"{stem}_part{first // per_module:03d}"
        parts.append(part)
        lines = [f"from skaal import {kinds}", "", f"from {stem}_core import {core}", ""]
        lines += [line for block in blocks[first : first + per_module] for line in block]
        (path.parent / f"{part}.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    main = [f"from {stem}_core import app", ""] + [f"import {part}  # noqa: F401" for part in parts]
    main += ["", '__all__ = ["app"]']
    path.write_text("\n".join(main) + "\n", encoding="utf-8")


def draw_blueprint(path: Path) -> Blueprint:
    """The Blueprint of the app :func:`write_app` wrote to ``path``, imported as a module
    named after the file (not entered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{path} is not an importable module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    blueprint = module.app.blueprint()
    if not isinstance(blueprint, Blueprint):
        raise TypeError(f"{path}: app.blueprint() gave {type(blueprint).__name__}")
    return blueprint
