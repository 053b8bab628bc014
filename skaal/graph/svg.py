"""Draw a :class:`~skaal.graph.model.PlanGraph` as SVG, or as a standalone HTML page.

The layout is fixed and computed here, with no library: four columns
(triggers, functions, state, shared instances), one box per node stacked in
the graph's order, edges as cubic curves from the right side of the box on
the left to the left side of the box on the right (a queue or topic feeding
a function sits right of it, so that curve runs backwards).  Under the
graph, a bar per priced node and one for the network: the cost breakdown.

Defaulted nodes (part of their cost rests on undeclared workload) get a
dashed amber border and a "defaults" tag; pinned ones a "pinned" tag.  Every text is XML-escaped.
The same SVG is what ``skaal plan --graph out.svg`` writes and what the
dashboard's plan view shows (``/_skaal/api/plan/graph.svg``).
"""

from __future__ import annotations

from typing import Final
from xml.sax.saxutils import escape

from skaal.graph.model import COLUMNS, GraphNode, PlanGraph

__all__ = ["graph_html", "graph_svg", "money"]

_BOX_W: Final = 250
_BOX_H: Final = 62
_GAP_X: Final = 70
_GAP_Y: Final = 16
_TOP: Final = 64
_LEFT: Final = 16
_BAR_H: Final = 18

_FILL: Final = {
    "function": "#e8f0fe",
    "map": "#e6f4ea",
    "collection": "#e6f4ea",
    "blob": "#fef7e0",
    "queue": "#fce8e6",
    "topic": "#fce8e6",
    "secret": "#f1f3f4",
    "instance": "#ede7f6",
    "trigger": "#ffffff",
}
_EDGE_COLOUR: Final = {
    "uses": "#5f6368",
    "consumes": "#c5221f",
    "subscribes": "#c5221f",
    "http": "#1a73e8",
    "schedule": "#1a73e8",
    "on": "#7e57c2",
}


def money(amount: float | None) -> str:
    """``$6.74/mo``; ``<$0.01/mo`` for a positive amount under a cent; ``-`` for none."""
    if amount is None:
        return "-"
    if 0 < amount < 0.005:
        return "<$0.01/mo"
    return f"${amount:,.2f}/mo"


def _positions(graph: PlanGraph) -> dict[str, tuple[int, int]]:
    rows = [0] * len(COLUMNS)
    where: dict[str, tuple[int, int]] = {}
    for node in graph.nodes:
        x = _LEFT + node.column * (_BOX_W + _GAP_X)
        y = _TOP + rows[node.column] * (_BOX_H + _GAP_Y)
        rows[node.column] += 1
        where[node.id] = (x, y)
    return where


def _box(node: GraphNode, x: int, y: int) -> str:
    dashed = ' stroke-dasharray="5 3"' if node.defaulted else ""
    stroke = "#e37400" if node.defaulted else "#9aa0a6"
    tags = [
        t for t, on in (("defaults", node.defaulted), ("pinned", node.status == "pinned")) if on
    ]
    first = node.detail if node.kind in ("trigger", "instance") else node.kind
    second = " · ".join(
        part
        for part in (
            node.backend or "",
            node.region or "",
            money(node.monthly_cost) if node.monthly_cost is not None else "",
        )
        if part
    )
    if node.kind == "instance":
        first, second = node.detail, f"{node.backend} · {money(node.monthly_cost)}"
    lines = [
        f'<g class="node kind-{node.kind}" data-id="{escape(node.id, {chr(34): "&quot;"})}">',
        f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="6" '
        f'fill="{_FILL.get(node.kind, "#fff")}" stroke="{stroke}"{dashed}/>',
        f'<text x="{x + 10}" y="{y + 20}" class="label">{escape(node.label)}</text>',
        f'<text x="{x + 10}" y="{y + 37}" class="detail">{escape(first)}</text>',
        f'<text x="{x + 10}" y="{y + 53}" class="detail">{escape(second)}</text>',
    ]
    if tags:
        lines.append(
            f'<text x="{x + _BOX_W - 8}" y="{y + 20}" class="tag" text-anchor="end">'
            f"{escape(', '.join(tags))}</text>"
        )
    lines.append("</g>")
    return "\n".join(lines)


def _edge(kind: str, start: tuple[int, int], end: tuple[int, int]) -> str:
    (sx, sy), (tx, ty) = start, end
    sy, ty = sy + _BOX_H // 2, ty + _BOX_H // 2
    if sx < tx:
        x1, x2 = sx + _BOX_W, tx
    else:
        x1, x2 = sx, tx + _BOX_W
    bend = max(40, abs(x2 - x1) // 2)
    c1 = x1 + bend if sx < tx else x1 - bend
    c2 = x2 - bend if sx < tx else x2 + bend
    colour = _EDGE_COLOUR.get(kind, "#5f6368")
    dash = ' stroke-dasharray="4 3"' if kind == "on" else ""
    return (
        f'<path class="edge edge-{kind}" d="M{x1},{sy} C{c1},{sy} {c2},{ty} {x2},{ty}" '
        f'fill="none" stroke="{colour}" stroke-width="1.5"{dash} marker-end="url(#arrow)"/>'
    )


def _costs(graph: PlanGraph, top: int, width: int) -> tuple[list[str], int]:
    owners = [(n.label, n.monthly_cost or 0.0) for n in graph.nodes if n.monthly_cost]
    if graph.network_monthly_cost:
        owners.append(("network", graph.network_monthly_cost))
    priced = sorted(owners, key=lambda item: (-item[1], item[0]))
    if not priced:
        return [], top
    out = [f'<text x="{_LEFT}" y="{top}" class="heading">Monthly cost breakdown</text>']
    largest = max(cost for _, cost in priced)
    bar_room = width - _LEFT - 420
    y = top + 14
    for label, cost in priced:
        bar = max(1, round((cost / largest if largest else 0.0) * bar_room))
        out.append(
            f'<text x="{_LEFT}" y="{y + 13}" class="detail">{escape(label)}</text>'
            f'<rect class="bar" x="{_LEFT + 250}" y="{y}" width="{bar}" '
            f'height="{_BAR_H - 4}" fill="#1a73e8"/>'
            f'<text x="{_LEFT + 256 + bar}" y="{y + 13}" class="detail">'
            f"{escape(money(cost))}</text>"
        )
        y += _BAR_H
    return out, y


def graph_svg(graph: PlanGraph, *, costs: bool = True) -> str:
    """The picture of ``graph`` as a standalone SVG document (UTF-8 text)."""
    where = _positions(graph)
    rows = max(
        (sum(1 for n in graph.nodes if n.column == c) for c in range(len(COLUMNS))), default=0
    )
    width = _LEFT * 2 + len(COLUMNS) * _BOX_W + (len(COLUMNS) - 1) * _GAP_X
    bottom = _TOP + rows * (_BOX_H + _GAP_Y) + 10
    title = (
        f"{graph.app} on {graph.provider} ({graph.catalog}, {graph.region}): "
        f"{money(graph.total_monthly_cost)}"
    )
    body = [
        f'<text x="{_LEFT}" y="24" class="title">{escape(title)}</text>',
        *(
            f'<text x="{_LEFT + c * (_BOX_W + _GAP_X)}" y="50" class="heading">{name}</text>'
            for c, name in enumerate(COLUMNS)
        ),
        *(
            _edge(e.kind, where[e.source], where[e.target])
            for e in graph.edges
            if e.source in where and e.target in where
        ),
        *(_box(n, *where[n.id]) for n in graph.nodes),
    ]
    if costs:
        bars, bottom = _costs(graph, bottom + 16, width)
        body.extend(bars)
    height = bottom + 16
    style = (
        "text{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;fill:#202124}"
        ".title{font-size:16px;font-weight:600}.heading{font-size:12px;fill:#5f6368;"
        "text-transform:uppercase;letter-spacing:.06em}.label{font-size:13px;font-weight:600}"
        ".detail{font-size:11px;fill:#3c4043}.tag{font-size:10px;fill:#e37400;font-weight:600}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">\n'
        f"<style>{style}</style>\n"
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#5f6368"/></marker></defs>\n' + "\n".join(body) + "\n</svg>\n"
    )


def graph_html(graph: PlanGraph) -> str:
    """A standalone HTML page holding the SVG (no script, no external resource)."""
    title = escape(f"{graph.app}: plan on {graph.provider}")
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title></head>\n<body style="margin:16px">\n'
        f"{graph_svg(graph)}</body></html>\n"
    )
