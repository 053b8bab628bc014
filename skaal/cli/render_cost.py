"""Rich rendering of a plan's bill (``skaal cost``) and of what re-optimising would change.

Like :mod:`skaal.cli.render`, these functions only print frozen data
(:class:`skaal.plan.bill.Bill`): every figure is computed in
:mod:`skaal.plan.bill`, so ``--json`` shows the same numbers.  A table past
:data:`~skaal.cli.render.LARGE` rows shows its costliest rows and says how
many it left out (``--json`` lists them all).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from skaal.cli.render import LARGE, money
from skaal.plan.bill import Bill, BillDelta, BillGroup, BillLine, Grouping, group_bill

__all__ = ["render_bill", "render_reoptimize"]

#: Rows shown when a table is cut to its costliest.
_COSTLIEST = 20


def _quantity(value: float, unit: str) -> str:
    if value >= 1000:
        shown = f"{value:,.0f}"
    elif value == 0 or value >= 1e-4:
        shown = f"{value:,.6g}"
    else:  # six significant digits without an exponent: 0.0000304167
        digits = 5 - math.floor(math.log10(abs(value)))
        shown = f"{value:.{digits}f}".rstrip("0")
    return f"{shown} {unit}".strip()


def _unit_price(amount: float) -> str:
    """Every digit the catalog gives, without an exponent (``$0.0000166667``)."""
    shown = f"{amount:.10f}".rstrip("0").rstrip(".")
    return f"${shown}"


def _share(part: float, total: float) -> str:
    return f"{100 * part / total:.1f}%" if total > 0 else "-"


def _title(bill: Bill, lock: str) -> str:
    return (
        f"[bold]Monthly bill for {escape(bill.app)}[/] on {escape(bill.catalog)} "
        f"({bill.provider}, {escape(bill.region)}), from {escape(lock)}"
    )


def render_bill(console: Console, bill: Bill, *, by: Grouping | None, lock: str) -> None:
    """The bill's lines (or their sums by ``by``), the total and the dates of the prices."""
    console.print(_title(bill, lock) + (f", by {by}" if by else ""))
    if by is None:
        _render_lines(console, bill)
    else:
        _render_groups(console, bill, group_bill(bill.lines, by), by)
    dates = bill.as_of()
    read = ""
    if dates is not None:
        read = f"; prices read {dates[0]}" + (f" to {dates[1]}" if dates[1] != dates[0] else "")
    console.print(f"[bold]total {money(bill.total)}/month[/] ({bill.currency}{read})")
    if bill.reoptimize_savings > 0.005:
        console.print(
            f"[yellow]skaal plan --reoptimize would save {money(bill.reoptimize_savings)}"
            "/month[/]: skaal cost --reoptimize shows where"
        )


def _render_lines(console: Console, bill: Bill) -> None:
    """One row per line; sources are numbered below the table (they are few and long)."""
    table = Table()
    for column in ("resource", "backend", "item"):
        table.add_column(column)
    table.add_column("quantity", justify="right")
    table.add_column("unit price", justify="right")
    table.add_column("monthly", justify="right")
    table.add_column("source", justify="right")
    lines: Sequence[BillLine] = bill.lines
    if len(lines) > LARGE:
        lines = sorted(lines, key=lambda line: -line.monthly)[:_COSTLIEST]
        table.title = (
            f"the {len(lines)} costliest of {len(bill.lines):,} lines (--by or --json for all)"
        )
        table.title_justify = "left"
    sources: dict[tuple[str, str], int] = {}
    for line in lines:
        cited = str(sources.setdefault((line.price.source, line.price.as_of), len(sources) + 1))
        backend = line.backend + (f" {line.mode}" if line.mode else "")
        item = line.item
        if line.owner_kind == "instance":
            item += f" {line.component.removeprefix('instance ')}" if "fee" in item else ""
        if line.factor is not None:  # read units: say what one read takes, and who says so
            item += f" ({line.factor.factor:g} unit each)"
            also = sources.setdefault((line.factor.source, line.factor.as_of), len(sources) + 1)
            cited += "" if str(also) == cited else f",{also}"
        if line.copies is not None:  # an index's copy: what share of the table, who says so
            item += f" ({line.copies.factor:g} copy per index)"
            also = sources.setdefault((line.copies.source, line.copies.as_of), len(sources) + 1)
            cited += "" if str(also) in cited.split(",") else f",{also}"
        table.add_row(
            escape(line.owner),
            escape(backend),
            escape(item),
            _quantity(line.quantity, line.unit),
            _unit_price(line.price.amount),
            money(line.monthly),
            f"[{cited}]",
        )
    console.print(table)
    for (source, as_of), number in sources.items():
        console.print(f"  [{number}] {escape(source)} (read {as_of})", markup=False)


def _render_groups(console: Console, bill: Bill, groups: Sequence[BillGroup], by: Grouping) -> None:
    table = Table(title_justify="left")
    table.add_column(by)
    table.add_column("lines", justify="right")
    table.add_column("monthly", justify="right")
    table.add_column("share", justify="right")
    shown = groups
    if len(groups) > LARGE:
        shown = sorted(groups, key=lambda g: -g.monthly)[:_COSTLIEST]
        table.title = f"the {len(shown)} costliest of {len(groups):,}"
    for group in shown:
        table.add_row(
            escape(group.key),
            f"{group.lines:,}",
            money(group.monthly),
            _share(group.monthly, bill.total),
        )
    console.print(table)


def render_reoptimize(
    console: Console,
    bill: Bill,
    other: Bill,
    deltas: Sequence[BillDelta],
    *,
    by: Grouping,
) -> None:
    """What ``skaal plan --reoptimize`` would change, summed by ``by``."""
    if not deltas:
        console.print("skaal plan --reoptimize would change nothing on this bill")
        return
    console.print(f"[bold]What skaal plan --reoptimize would change[/], by {by}")
    table = Table(title_justify="left")
    table.add_column(by)
    for column in ("now", "re-optimised", "change"):
        table.add_column(column, justify="right")
    shown = deltas
    if len(deltas) > LARGE:
        shown = sorted(deltas, key=lambda d: d.delta)[:_COSTLIEST]
        table.title = f"the {len(shown)} largest savings of {len(deltas):,}"
    for delta in shown:
        change = money(delta.delta) if delta.delta < 0 else f"+{money(delta.delta)}"
        colour = "green" if delta.delta < 0 else "red"
        table.add_row(
            escape(delta.key),
            money(delta.current),
            money(delta.other),
            f"[{colour}]{change}[/]",
        )
    console.print(table)
    saving = round(bill.total - other.total, 6)
    console.print(
        f"total {money(bill.total)} → {money(other.total)}/month "
        f"(saves {money(saving)}/month; it may move resources that hold data)"
    )
