"""Rich rendering of plans, plan diffs, explanations and diagnoses.

Every function takes a :class:`rich.console.Console` and frozen data and only
prints: no decisions are made here, so the same data can be printed as JSON
instead (``--json``) without a second code path for the logic.  Table cells
are :class:`rich.text.Text` made from the data, never parsed as markup (and
not twice, once to measure the column and once to draw it); text the user
controls (resource names, reasons) inside a markup line is escaped so
``[brackets]`` never turn into markup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint
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

_STATUS = {"optimal": "optimal", "best_found": "best found (not proven cheapest)"}
#: Past this many rows a table is summarised (grouped, with the costliest rows):
#: a 10,000-row table takes seconds to draw and nobody reads it; ``--json``
#: and ``--explain RESOURCE`` give every detail.
LARGE = 60
#: Rows shown in full when a plan is summarised.
_COSTLIEST = 10
#: Resources named per instance in the instances table before "and N more".
_NAMED = 4


def make_console(*, stderr: bool = False, file: TextIO | None = None) -> Console:
    """A console that does not wrap tables at 80 columns when output is piped.

    Emoji codes are off: ``:name:`` in a resource or backend name is text.
    """
    stream = file or (sys.stderr if stderr else sys.stdout)
    console = Console(file=stream, highlight=False, soft_wrap=False, emoji=False)
    if not console.is_terminal:
        console.width = max(_columns(), 140)
    return console


def _columns() -> int:
    """What :func:`shutil.get_terminal_size` gives, 140 without a terminal.

    ``COLUMNS`` if set, else the width of the terminal on standard output.
    Written out because :mod:`shutil` imports three compression modules
    (a few milliseconds at every ``skaal plan``) for this one function.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    try:
        return (os.get_terminal_size(stdout.fileno()).columns if stdout else 0) or 140
    except (AttributeError, ValueError, OSError):
        return 140


def money(amount: float) -> str:
    """``$2.40``; ``<$0.01`` for a positive amount below a cent; ``-$1.00`` for negatives."""
    if 0 < amount < 0.005:
        return "<$0.01"
    if amount < 0:
        return f"-${-amount:,.2f}"
    return f"${amount:,.2f}"


def _signed(amount: float) -> str:
    return f"+{money(amount)}" if amount >= 0 else money(amount)


def render_plan(console: Console, plan: Plan, blueprint: Blueprint | None = None) -> None:
    """The bindings table, shared instances, total, status and savings.

    With the ``blueprint``, a row whose cost rests on a default (a quantity
    the declaration leaves out) is marked ``*``, and the total says how much
    of it does.
    """
    assumed = _assumed(plan, blueprint)
    table = Table(
        title=f"Plan for {escape(plan.app)} on {escape(plan.catalog)} "
        f"({plan.provider}, {escape(plan.region)})",
        title_justify="left",
    )
    for column in ("resource", "kind", "backend", "region"):
        table.add_column(column)
    table.add_column("monthly", justify="right")
    table.add_column("reason")
    rows = plan.bindings
    if len(rows) > LARGE:
        _render_groups(console, plan)
        rows = tuple(sorted(rows, key=lambda b: (-b.monthly_cost, b.resource))[:_COSTLIEST])
        table.title = f"The {len(rows)} costliest of {len(plan.bindings):,} resources"
    for binding in rows:
        table.add_row(
            Text(binding.resource),
            Text(binding.kind),
            Text(_backend_label(binding)),
            Text(binding.region),
            Text(money(binding.monthly_cost) + ("*" if binding.resource in assumed else "")),
            Text(binding.reason),
        )
    console.print(table)
    if len(plan.instances) > LARGE:
        _render_instance_groups(console, plan)
    elif plan.instances:
        shared = Table(title="Server instances", title_justify="left")
        shared.add_column("instance")
        shared.add_column("class")
        shared.add_column("disk", justify="right")
        shared.add_column("fee", justify="right")
        shared.add_column("resources")
        for instance in plan.instances:
            size = instance.instance_class
            if instance.replicas:
                size += f" + {instance.replicas} replica{'s' if instance.replicas > 1 else ''}"
            named = ", ".join(instance.resources[:_NAMED])
            more = len(instance.resources) - _NAMED
            shared.add_row(
                Text(instance.id),
                Text(size),
                Text("-" if instance.disk_gb is None else f"{instance.disk_gb:,} GB"),
                Text(money(instance.fixed_monthly) + "/month"),
                Text(named + (f" and {more:,} more" if more > 0 else "")),
            )
        console.print(shared)
    status = _STATUS.get(plan.status, plan.status)
    if plan.status == "best_found" and plan.lower_bound is not None:
        gap = plan.total_monthly_cost - plan.lower_bound
        status += f"; proven lower bound {money(plan.lower_bound)}/month, gap {money(gap)}"
    console.print(
        f"[bold]total {money(plan.total_monthly_cost)}/month[/]  status: {escape(status)}"
    )
    regions = sorted({b.region for b in plan.bindings})
    if len(regions) > 1:
        crossing = [t for b in plan.bindings for t in b.transfers or ()]
        gb = sum(t.gb_month for t in crossing)
        priced = sum(
            line.monthly
            for b in plan.bindings
            for line in b.cost
            if line.component == "inter_region_per_gb"
        )
        transfer = (
            f"its functions exchange {gb:,.3g} GB/month with data in another region "
            f"({money(priced)}/month, in their rows)"
            if crossing
            else "no function reaches data in another region"
        )
        console.print(
            f"[yellow]this plan spans {len(regions)} regions ({', '.join(regions)})[/]: "
            f"{transfer}; "
            + (
                "skaal build creates each resource in its region"
                if plan.provider == "aws"
                else f"skaal build --target {plan.provider} builds one region only: declare "
                "the same residency on every resource, functions included"
            )
        )
    if assumed:
        share = sum(part for part, _ in assumed.values())
        names = sorted({n for _, used in assumed.values() for n in used})
        console.print(
            f"[yellow]* {money(share)} of it ({_share_text(share, plan.total_monthly_cost)})"
            " rests on defaults[/] for "
            f"{', '.join(names)} left undeclared on {len(assumed):,} "
            f"resource{'s' if len(assumed) > 1 else ''}: declare them for a true figure "
            "(skaal plan --explain RESOURCE shows each workload)"
        )
    if plan.reoptimize_savings > 0.005:
        console.print(
            f"[yellow]skaal plan --reoptimize would save {money(plan.reoptimize_savings)}"
            "/month[/] (it may move resources that are already placed; "
            "skaal cost --reoptimize shows where the saving comes from)"
        )


def _share_text(part: float, whole: float) -> str:
    """``part`` as a whole percentage of ``whole``, never "0%" for a part there is nor
    "100%" for one that is not all: "<1%" and ">99%" instead."""
    percent = 100 * part / whole if whole else 0.0
    if 0 < percent < 0.5:
        return "<1%"
    if 99.5 <= percent < 100:
        return ">99%"
    return f"{percent:.0f}%"


def _assumed(plan: Plan, blueprint: Blueprint | None) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Resource -> the part of its cost resting on defaults, and which (only those with some)."""
    if blueprint is None:
        return {}
    from skaal.solver.cost import assumed_costs

    specs = {spec.name: spec for spec in blueprint.resources}
    assumed = assumed_costs()
    out: dict[str, tuple[float, tuple[str, ...]]] = {}
    for binding in plan.bindings:
        spec = specs.get(binding.resource)
        if spec is None:
            continue
        found = assumed(spec, binding.cost)
        if found[0] > 0:
            out[binding.resource] = found
    return out


def _render_groups(console: Console, plan: Plan) -> None:
    """The plan's resources grouped by kind and backend: counts and monthly sums."""
    groups: dict[tuple[str, str], list[float]] = {}
    for binding in plan.bindings:
        label = binding.backend + (f" {binding.mode}" if binding.mode else "")
        groups.setdefault((binding.kind, label), []).append(binding.monthly_cost)
    table = Table(
        title=f"Plan for {escape(plan.app)} on {escape(plan.catalog)} "
        f"({plan.provider}, {escape(plan.region)}): {len(plan.bindings):,} resources",
        title_justify="left",
    )
    for column in ("kind", "backend"):
        table.add_column(column)
    table.add_column("resources", justify="right")
    table.add_column("monthly", justify="right")
    for (kind, label), costs in sorted(groups.items()):
        table.add_row(Text(kind), Text(label), Text(f"{len(costs):,}"), Text(money(sum(costs))))
    console.print(table)


def _render_instance_groups(console: Console, plan: Plan) -> None:
    """Server instances grouped by backend and class: counts, resources and fees."""
    groups: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for instance in plan.instances:
        size = instance.instance_class
        if instance.replicas:
            size += f" + {instance.replicas} replica{'s' if instance.replicas > 1 else ''}"
        groups.setdefault((instance.backend, size), []).append(
            (len(instance.resources), instance.fixed_monthly)
        )
    table = Table(title=f"{len(plan.instances):,} server instances", title_justify="left")
    for column in ("backend", "class"):
        table.add_column(column)
    for column in ("instances", "resources", "fees"):
        table.add_column(column, justify="right")
    for (backend, size), rows in sorted(groups.items()):
        table.add_row(
            Text(backend),
            Text(size),
            Text(f"{len(rows):,}"),
            Text(f"{sum(n for n, _ in rows):,}"),
            Text(money(sum(fee for _, fee in rows)) + "/month"),
        )
    console.print(table)


def _backend_label(binding: Binding) -> str:
    label = binding.backend
    if binding.mode:
        label += f" {binding.mode}"
    if binding.instance:
        label += f" ({binding.instance})"
    if binding.adopted:
        label += f" (adopted {binding.adopted})"
    if binding.status == "pinned":
        label += " (pinned)"
    return label


def _held_on(binding: Binding) -> str:
    """Where ``binding``'s data is: its backend, and its server or the table it adopts."""
    held = binding.instance or (f"adopted {binding.adopted}" if binding.adopted else None)
    return f"{binding.backend} ({held})" if held else binding.backend


def _adoption(binding: Binding) -> str:
    return f"adopted {escape(binding.adopted)}" if binding.adopted else "created"


def render_diff(console: Console, diff: PlanDiff, *, lock: str | None = None) -> None:
    """``+ Carts → dynamodb $2.40`` lines and the total before and after."""
    if diff.first_plan:
        console.print(
            "[bold]changes[/]: first plan" + (f" (no {escape(lock)} yet)" if lock else "")
        )
    elif diff.is_empty:
        console.print(f"[bold]changes[/]: no changes ({_kept(diff)})")
        return
    else:
        console.print("[bold]changes[/]:")
    if len(diff.added) + len(diff.removed) + len(diff.changed) > LARGE:
        _render_diff_counts(console, diff)
        return
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
            if change.old.adopted != change.new.adopted:
                parts.append(f"({_adoption(change.old)} → {_adoption(change.new)})")
            if change.old.region != change.new.region:
                parts.append(f"({escape(change.old.region)} → {escape(change.new.region)})")
        if abs(change.cost_delta) >= 0.005:
            parts.append(f"{money(change.old.monthly_cost)} → {money(change.new.monthly_cost)}")
        console.print("  [yellow]" + " ".join(parts) + "[/]")
    _render_diff_tail(console, diff)


def _render_diff_tail(console: Console, diff: PlanDiff) -> None:
    """What stayed where the last plan put it, and the total's change."""
    if diff.kept:
        console.print(f"  = {_kept(diff)}")
    if diff.old_total is not None:
        console.print(
            f"  total {money(diff.old_total)} → {money(diff.new_total)} "
            f"({_signed(diff.total_delta)}/month)"
        )


def _kept(diff: PlanDiff) -> str:
    count = len(diff.kept)
    return f"{count:,} resource{'' if count == 1 else 's'} kept where the last plan placed them"


def _render_diff_counts(console: Console, diff: PlanDiff) -> None:
    """A large diff as counts per backend (``--json`` lists every change)."""
    for sign, colour, bindings in (
        ("+", "green", diff.added),
        ("-", "red", diff.removed),
        ("~", "yellow", tuple(c.new for c in diff.changed)),
    ):
        counts: dict[str, int] = {}
        for binding in bindings:
            counts[binding.backend] = counts.get(binding.backend, 0) + 1
        if counts:
            listed = ", ".join(f"{n:,} on {escape(b)}" for b, n in sorted(counts.items()))
            console.print(f"  [{colour}]{sign} {len(bindings):,} resources: {listed}[/]")
    _render_diff_tail(console, diff)


def render_moves(
    console: Console, plan: Plan, blueprint: Blueprint | None, *, lock: str = "skaal.lock"
) -> None:
    """One line per pending move: where the data is, where it goes, what the copy takes."""
    from skaal.plan.moves import estimate, pending_moves

    specs = {s.name: s for s in blueprint.resources} if blueprint is not None else {}
    flag = "" if lock == "skaal.lock" else f" --lock {lock}"
    for binding in pending_moves(plan):
        assert binding.moving_from is not None  # a pending move
        console.print(
            f"[bold yellow]move[/]: {escape(binding.resource)} moves from "
            f"{escape(_backend_label(binding.moving_from))} to {escape(_backend_label(binding))}: "
            f"holds data ({escape(estimate(binding, specs.get(binding.resource)))}), "
            f"served from {escape(_held_on(binding.moving_from))} until "
            f"`skaal migrate{escape(flag)}` copies and switches it"
            + (
                f" (its origin, ${binding.moving_from.monthly_cost:,.2f}/month, is billed: "
                "kept until the migration switches)"
                if binding.moving_from.monthly_cost
                else ""
            )
        )
    for instance in plan.retiring:
        console.print(
            f"[bold yellow]kept[/]: server {escape(instance.id)} ({escape(instance.backend)}, "
            f"{escape(instance.instance_class)}) keeps {escape(', '.join(instance.resources))} "
            f"until the switch: ${instance.fixed_monthly:,.2f}/month, billed"
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
                Text(report.backend),
                Text.assemble((mark, style)),
                Text(money(report.cost or 0.0)),
                Text("\n".join(details)),
            )
        else:
            details = [
                str(r) + (f"  (relax: {r.relaxation})" if r.relaxation else "")
                for r in report.rejections
            ]
            table.add_row(
                Text(report.backend),
                Text.assemble(("rejected", "red")),
                Text(""),
                Text("\n".join(details)),
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
