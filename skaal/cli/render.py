"""Rich rendering of plans, plan diffs, explanations and diagnoses.

Every function takes a :class:`rich.console.Console` and frozen data and only
prints: no decisions are made here, so the same data can be printed as JSON
instead (``--json``) without a second code path for the logic.  Text the user
controls (resource names, reasons) is escaped so ``[brackets]`` never turn
into markup.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from skaal.errors import UnsatisfiableError
    from skaal.plan.diff import PlanDiff
    from skaal.plan.model import Binding, Plan
    from skaal.solver.diagnosis import CandidateReport
    from skaal.solver.problem import ResourceOptions

__all__ = [
    "diagnosis_text",
    "make_console",
    "money",
    "render_diff",
    "render_explanation",
    "render_notes",
    "render_plan",
]

_STATUS = {"optimal": "optimal", "best_found": "best found (solver time limit reached)"}


def make_console(*, stderr: bool = False, file: TextIO | None = None) -> Console:
    """A console that does not wrap tables at 80 columns when output is piped.

    Emoji codes are off: ``:name:`` in a resource or backend name is text.
    """
    stream = file or (sys.stderr if stderr else sys.stdout)
    console = Console(file=stream, highlight=False, soft_wrap=False, emoji=False)
    if not console.is_terminal:
        console.width = max(shutil.get_terminal_size((140, 24)).columns, 140)
    return console


def money(amount: float) -> str:
    """``$2.40``; ``<$0.01`` for a positive amount below a cent; ``-$1.00`` for negatives."""
    if 0 < amount < 0.005:
        return "<$0.01"
    if amount < 0:
        return f"-${-amount:,.2f}"
    return f"${amount:,.2f}"


def _signed(amount: float) -> str:
    return f"+{money(amount)}" if amount >= 0 else money(amount)


def render_plan(console: Console, plan: Plan) -> None:
    """The bindings table, shared instances, total, status and savings."""
    table = Table(
        title=f"Plan for {escape(plan.app)} on {escape(plan.catalog)} "
        f"({plan.provider}, {escape(plan.region)})",
        title_justify="left",
    )
    for column in ("resource", "kind", "backend", "region"):
        table.add_column(column)
    table.add_column("monthly", justify="right")
    table.add_column("reason")
    for binding in plan.bindings:
        table.add_row(
            escape(binding.resource),
            binding.kind,
            escape(_backend_label(binding)),
            escape(binding.region),
            money(binding.monthly_cost),
            escape(binding.reason),
        )
    console.print(table)
    if plan.instances:
        shared = Table(title="Shared instances", title_justify="left")
        shared.add_column("instance")
        shared.add_column("backend")
        shared.add_column("fixed fee", justify="right")
        shared.add_column("resources")
        for instance in plan.instances:
            shared.add_row(
                escape(instance.id),
                escape(instance.backend),
                money(instance.fixed_monthly) + "/month",
                escape(", ".join(instance.resources)),
            )
        console.print(shared)
    status = _STATUS.get(plan.status, plan.status)
    console.print(
        f"[bold]total {money(plan.total_monthly_cost)}/month[/]  status: {escape(status)}"
    )
    if plan.reoptimize_savings > 0.005:
        console.print(
            f"[yellow]skaal plan --reoptimize would save {money(plan.reoptimize_savings)}"
            "/month[/] (it may move resources that are already placed)"
        )


def _backend_label(binding: Binding) -> str:
    label = binding.backend
    if binding.instance:
        label += f" ({binding.instance})"
    if binding.status == "pinned":
        label += " (pinned)"
    return label


def render_diff(console: Console, diff: PlanDiff, *, lock: str | None = None) -> None:
    """``+ Carts → dynamodb $2.40`` lines and the total before and after."""
    if diff.first_plan:
        console.print(
            "[bold]changes[/]: first plan" + (f" (no {escape(lock)} yet)" if lock else "")
        )
    elif diff.is_empty:
        console.print("[bold]changes[/]: no changes")
        return
    else:
        console.print("[bold]changes[/]:")
    for binding in diff.added:
        console.print(
            f"  [green]+ {escape(binding.resource)} → {escape(binding.backend)} "
            f"{money(binding.monthly_cost)}[/]"
        )
    for binding in diff.removed:
        console.print(
            f"  [red]- {escape(binding.resource)} (was {escape(binding.backend)} "
            f"{money(binding.monthly_cost)})[/]"
        )
    for change in diff.changed:
        parts = [f"~ {escape(change.resource)}"]
        if change.backend_changed:
            parts.append(f"{escape(change.old.backend)} → {escape(change.new.backend)}")
            if change.old.region != change.new.region:
                parts.append(f"({escape(change.old.region)} → {escape(change.new.region)})")
        if abs(change.cost_delta) >= 0.005:
            parts.append(f"{money(change.old.monthly_cost)} → {money(change.new.monthly_cost)}")
        console.print("  [yellow]" + " ".join(parts) + "[/]")
    if diff.old_total is not None:
        console.print(
            f"  total {money(diff.old_total)} → {money(diff.new_total)} "
            f"({_signed(diff.total_delta)}/month)"
        )


def render_notes(console: Console, notes: tuple[str, ...]) -> None:
    for note in notes:
        console.print(f"[yellow]note[/]: {escape(note)}")


def render_explanation(
    console: Console,
    options: ResourceOptions,
    reports: Sequence[CandidateReport],
    *,
    chosen: str | None,
    catalog: str,
) -> None:
    """Every backend of the catalog for one resource: its cost, or why it was rejected."""
    spec = options.spec
    console.print(
        f"[bold]{escape(spec.name)}[/] ({spec.kind}) declared at {escape(str(spec.location))}, "
        f"catalog {escape(catalog)}"
    )
    declared = spec.requirements.declared()
    if declared:
        console.print(
            "  asks: " + escape(", ".join(_show(k, v) for k, v in sorted(declared.items())))
        )
    work = options.workload
    defaulted = f" (defaults: {', '.join(work.defaulted)})" if work.defaulted else ""
    console.print(
        f"  workload: {work.size_gb:g} GB, {work.reads_per_s:g} reads/s, "
        f"{work.writes_per_s:g} writes/s{escape(defaulted)}"
    )
    table = Table(show_lines=True)
    table.add_column("backend")
    table.add_column("verdict")
    table.add_column("monthly", justify="right")
    table.add_column("details")
    for report in reports:
        if report.feasible:
            mark = "chosen" if report.backend == chosen else "feasible"
            style = "bold green" if mark == "chosen" else "green"
            details = [
                f"{line.component}: {line.quantity:g} → {money(line.monthly)}"
                for line in report.lines
            ] or ["no cost"]
            if report.region:
                details.append(f"region {report.region}")
            if report.unchecked:
                details.append(f"not checked on this target: {', '.join(report.unchecked)}")
            table.add_row(
                escape(report.backend),
                f"[{style}]{mark}[/]",
                money(report.cost or 0.0),
                escape("\n".join(details)),
            )
        else:
            details = [
                str(r) + (f"  (relax: {r.relaxation})" if r.relaxation else "")
                for r in report.rejections
            ]
            table.add_row(
                escape(report.backend), "[red]rejected[/]", "", escape("\n".join(details))
            )
    console.print(table)
    if not options.options:
        console.print(f"[red]no backend in {escape(catalog)} can serve {escape(spec.name)}[/]")


#: Canonical unit of each requirement field, for display.
_UNITS: dict[str, str] = {
    "read_latency": " ms",
    "write_latency": " ms",
    "size_gb": " GB",
    "reads_per_s": "/s",
    "writes_per_s": "/s",
    "availability": "%",
    "ttl_s": " s",
    "retention_s": " s",
    "memory_gb": " GB",
    "timeout_s": " s",
}


def _show(name: str, value: object) -> str:
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{name} {shown}{_UNITS.get(name, '')}"


def diagnosis_text(error: UnsatisfiableError) -> str:
    """The solver's readable diagnosis, or the error's own text without one."""
    from skaal.solver.diagnosis import Diagnosis, format_diagnosis

    if isinstance(error.report, Diagnosis):
        return format_diagnosis(error.report)
    return error.render()
