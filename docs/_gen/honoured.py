"""Which bundled backends honour each constraint, computed from the catalogs.

Every keyword section of ``docs/constraints.md`` has a line::

    *Honoured by:* local: sqlite, memory · aws: dynamodb, ... · gcp: ...

listing, for each bundled catalog, the backends of the keyword's kinds that
can meet it at all, by the rule the feasibility filter applies
(:mod:`skaal.solver.feasibility`): a published figure, a capability, or —
for quantities — every backend up to its ``limits``.  Ordered guarantees show
the level each backend offers, so the line reads as a small table.

Regenerate with ``python docs/_gen/honoured.py``; ``tests/docs/test_doc_references.py`` checks
the committed lines equal the catalogs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from skaal.catalog import load_catalog
from skaal.catalog.model import Backend
from skaal.declare.constraints import CONSTRAINTS

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "constraints.md"
CATALOGS = ("local", "local-servers", "aws", "gcp")
#: Catalogs on which a keyword is not checked at all (see the feasibility filter).
UNCHECKED_LOCAL = {"availability", "residency"}

#: keyword -> what a backend offers for it: a label, or None when it cannot honour it.
Rule = Callable[[Backend], str | None]


def _capability(name: str) -> Rule:
    return lambda b: b.name if name in b.capabilities else None


def _amount(value: float, unit: str) -> str:
    if unit == "s":
        for size, name in ((86_400, "days"), (3_600, "hours"), (60, "minutes")):
            if value >= size and value % size == 0:
                return f"{value / size:,g} {name}"
    return f"{value:,g}{unit}" if unit.startswith("/") else f"{value:,g} {unit}"


def _limit(field: str, unit: str) -> Rule:
    def rule(backend: Backend) -> str:
        value = getattr(backend.limits, field)
        return backend.name if value is None else f"{backend.name} (≤ {_amount(value, unit)})"

    return rule


def _figure(label: Callable[[Backend], object]) -> Rule:
    def rule(backend: Backend) -> str | None:
        value = label(backend)
        return None if value is None else f"{backend.name} ({value})"

    return rule


def _every(backend: Backend) -> str:
    return backend.name


RULES: dict[str, Rule] = {
    "read_latency": _figure(
        lambda b: (
            None
            if b.performance.read_latency_ms is None
            else f"{b.performance.read_latency_ms:g} ms"
        )
    ),
    "write_latency": _figure(
        lambda b: (
            None
            if b.performance.write_latency_ms is None
            else f"{b.performance.write_latency_ms:g} ms"
        )
    ),
    "durability": _figure(lambda b: b.performance.durability),
    "size": _limit("max_size_gb", "GB"),
    "reads": _limit("max_reads_per_s", "/s"),
    "writes": _limit("max_writes_per_s", "/s"),
    "messages": _every,
    "invocations": _every,
    "consistency": _figure(lambda b: "/".join(b.performance.consistency)),
    "availability": _figure(lambda b: f"{b.performance.availability:g}%"),
    "residency": _every,
    "ttl": lambda b: _limit("max_ttl_s", "s")(b) if "ttl" in b.capabilities else None,
    "retention": _limit("max_retention_s", "s"),
    "access": _capability("ordered_keys"),
    "ordered": _capability("fifo"),
    "max_attempts": _capability("dead_letter"),
    "memory": _limit("max_memory_gb", "GB"),
    "timeout": _limit("max_timeout_s", "s"),
    "backend": _every,
    "collocate_with": _every,
}
LINE = re.compile(r"^\*Honoured by:\*.*$", re.MULTILINE)


def honoured(keyword: str) -> str:
    """The ``*Honoured by:*`` line of one keyword."""
    kinds = CONSTRAINTS[keyword].kinds
    parts = []
    for name in CATALOGS:
        if keyword in UNCHECKED_LOCAL and name.startswith("local"):
            parts.append(f"{name}: not checked")
            continue
        backends = [b for b in load_catalog(name).backends if set(b.kinds) & set(kinds)]
        if keyword == "residency":
            parts.append(f"{name}: {_regions(backends)}")
            continue
        labels = [label for b in backends if (label := RULES[keyword](b)) is not None]
        parts.append(f"{name}: {', '.join(labels) or 'none'}")
    return "*Honoured by:* " + " · ".join(parts)


def _regions(backends: list[Backend]) -> str:
    """Backends grouped by their region list (most share one), in catalog order."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for backend in backends:
        groups.setdefault(backend.regions, []).append(backend.name)
    if len(groups) == 1:
        return "every backend in " + ", ".join(next(iter(groups)))
    return "; ".join(
        f"{', '.join(names)} in {', '.join(regions)}" for regions, names in groups.items()
    )


def render(text: str) -> str:
    """``text`` with the line of every keyword section replaced by a fresh one."""
    sections = re.split(r"(?=^### `)", text, flags=re.MULTILINE)
    return "".join(_refresh(section) for section in sections)


def _refresh(section: str) -> str:
    match = re.match(r"### `(\w+)`", section)
    if not match or match[1] not in RULES:
        return section
    if not LINE.search(section):
        raise ValueError(f"the {match[1]} section of {PAGE} has no *Honoured by:* line")
    line = honoured(match[1])
    return LINE.sub(lambda _: line, section, count=1)


def main() -> int:
    text = PAGE.read_text(encoding="utf-8")
    new = render(text)
    if new != text:
        PAGE.write_text(new, encoding="utf-8")
    print(f"{'rewrote' if new != text else 'unchanged'} {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
