"""The builder package imports in one direction: no module reaches back to itself.

Within ``skaal.builder`` every import (lazy ones inside functions included:
grimp reads them all) goes from a module to modules that never import it
back, directly or through others of the package.  A cycle is how a lazy
"import it here to dodge the circle" creeps in; the shared record then
belongs in a smaller module below both (:mod:`skaal.builder.artifact`).
"""

from __future__ import annotations

import grimp

PACKAGE = "skaal.builder"


def _edges() -> dict[str, set[str]]:
    graph = grimp.build_graph("skaal", cache_dir=None)
    inside = {m for m in graph.modules if m == PACKAGE or m.startswith(PACKAGE + ".")}
    return {m: graph.find_modules_directly_imported_by(m) & inside for m in inside}


def _cycle_through(start: str, edges: dict[str, set[str]]) -> list[str] | None:
    """A chain of imports from ``start`` back to ``start``, ``None`` if there is none."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        module, chain = stack.pop()
        for imported in sorted(edges[module]):
            if imported == start:
                return [*chain, start]
            if imported not in seen:
                seen.add(imported)
                stack.append((imported, [*chain, imported]))
    return None


def test_no_module_of_the_builder_imports_itself_back() -> None:
    edges = _edges()
    cycles = [c for m in sorted(edges) if (c := _cycle_through(m, edges)) is not None]
    assert cycles == []


def test_the_framework_and_the_model_share_the_artifact_record_from_below() -> None:
    edges = _edges()
    assert "skaal.builder.framework" in edges["skaal.builder.model"]
    assert "skaal.builder.model" not in edges["skaal.builder.framework"]
    assert edges["skaal.builder.artifact"] == set()
