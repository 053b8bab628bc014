"""``skaal env``: the environments of a project, side by side (:mod:`skaal.envs`).

* ``skaal env list`` -- every environment declared in ``pyproject.toml``,
  its catalog, its lock and the monthly total of the plan in it.
* ``skaal env diff A B`` -- how B's plan differs from A's, resource by
  resource (backend and monthly cost), which existing resources each
  adopts where the other does not (or adopts another), and both totals.
* ``skaal env promote A B`` -- plan B with every placement of A's plan
  pinned (:func:`skaal.envs.compare.promotion_pins` says exactly what that
  means), against B's own catalog and with B's own adoptions
  (``[tool.skaal.envs.B.existing]``), and write B's lock; refused, with nothing
  written, when B's catalog lacks a backend A uses.  ``--no-write`` shows
  the result without writing.

``--json`` prints one JSON document and nothing else on stdout.  Exit codes:
0 done, 1 a lock is missing or the promotion is impossible, 2 usage errors
(an unknown environment, a bad ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from skaal.cli.json_text import echo_json
from skaal.errors import UsageError

if TYPE_CHECKING:
    from skaal.envs.compare import AdoptionChange, EnvSummary
    from skaal.envs.config import Project
    from skaal.plan.diff import PlanDiff
    from skaal.plan.model import Plan

__all__ = ["env"]


@click.group("env")
def env() -> None:
    """List, compare and promote the environments of pyproject.toml."""


def _project(cwd: Path) -> Project:
    from skaal.envs.config import load_project

    project = load_project(cwd)
    if not project.envs:
        raise UsageError(
            "this project declares no environments",
            where=str(project.pyproject or cwd),
            fix="add [tool.skaal.envs.dev] (and others) to pyproject.toml; "
            "see docs/environments.md",
        )
    return project


@env.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the environments as JSON only.")
def list_envs(*, as_json: bool) -> None:
    """Every environment: its catalog, its lock and its plan's monthly total."""
    from skaal.envs.compare import summaries

    rows = summaries(_project(Path.cwd()))
    if as_json:
        _emit_json({"envs": [_summary_json(row) for row in rows]})
        return
    from rich.table import Table

    from skaal.cli.render import make_console, money

    table = Table(show_edge=True)
    for column in ("env", "catalog", "lock", "plan", "monthly"):
        table.add_column(column, justify="right" if column == "monthly" else "left")
    for row in rows:
        name = f"{row.name} (default)" if row.default else row.name
        if row.plan is None:
            state, total = row.problem or "not planned yet", "-"
        else:
            state, total = row.plan.content_hash()[:12], money(row.plan.total_monthly_cost)
        table.add_row(name, row.catalog, row.lock, state, total)
    make_console().print(table)


def _summary_json(row: EnvSummary) -> dict[str, Any]:
    return {
        "name": row.name,
        "default": row.default,
        "catalog": row.catalog,
        "lock": row.lock,
        "plan_hash": None if row.plan is None else row.plan.content_hash(),
        "total_monthly_cost": row.total,
        "problem": row.problem,
    }


@env.command("diff")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@click.option("--json", "as_json", is_flag=True, help="Print the differences as JSON only.")
def diff_envs(*, first: str, second: str, as_json: bool) -> None:
    """How environment B's plan differs from A's: backends, monthly costs, adoptions."""
    from skaal.envs.compare import adoption_changes, compare, read_env_plan

    project = _project(Path.cwd())
    env_a = project.get(first, where="skaal env diff A")
    env_b = project.get(second, where="skaal env diff B")
    plan_a, plan_b = read_env_plan(project, env_a), read_env_plan(project, env_b)
    diff = compare(plan_a, plan_b)
    adopted = adoption_changes(plan_a, plan_b)
    if as_json:
        _emit_json(
            {
                "a": first,
                "b": second,
                **_diff_json(plan_a, plan_b),
                "diff": diff.to_json(),
                "adopted": [
                    {"resource": change.resource, "a": change.a, "b": change.b}
                    for change in adopted
                ],
            }
        )
        return
    _print_diff(first, second, plan_a, plan_b, diff)
    _print_adopted(first, second, adopted)


def _diff_json(plan_a: Plan, plan_b: Plan) -> dict[str, Any]:
    return {
        "catalogs": [plan_a.catalog, plan_b.catalog],
        "providers": [plan_a.provider, plan_b.provider],
        "totals": [plan_a.total_monthly_cost, plan_b.total_monthly_cost],
    }


def _print_diff(first: str, second: str, plan_a: Plan, plan_b: Plan, diff: PlanDiff) -> None:
    from rich.markup import escape
    from rich.table import Table

    from skaal.cli.render import make_console, money

    console = make_console()
    console.print(
        f"{escape(first)}: {escape(plan_a.catalog)} ({escape(plan_a.provider)}), "
        f"{money(plan_a.total_monthly_cost)}/month   "
        f"{escape(second)}: {escape(plan_b.catalog)} ({escape(plan_b.provider)}), "
        f"{money(plan_b.total_monthly_cost)}/month"
    )
    if not (diff.added or diff.removed or diff.changed):
        console.print(f"same placements and costs ({len(diff.kept)} resources)")
        return
    table = Table(show_edge=True)
    table.add_column("resource")
    table.add_column(first)
    table.add_column(second)
    table.add_column("delta", justify="right")
    for change in diff.changed:
        old, new = change.old, change.new
        table.add_row(
            escape(change.resource),
            f"{escape(old.backend)} {money(old.monthly_cost)}",
            f"{escape(new.backend)} {money(new.monthly_cost)}",
            _signed(change.cost_delta),
        )
    for binding in diff.removed:
        table.add_row(
            escape(binding.resource),
            f"{escape(binding.backend)} {money(binding.monthly_cost)}",
            "-",
            _signed(-binding.monthly_cost),
        )
    for binding in diff.added:
        table.add_row(
            escape(binding.resource),
            "-",
            f"{escape(binding.backend)} {money(binding.monthly_cost)}",
            _signed(binding.monthly_cost),
        )
    console.print(table)
    same = set(diff.kept) - {c.resource for c in diff.changed}
    if same:
        console.print(f"same in both: {len(same)} resources")
    console.print(
        f"total {money(plan_a.total_monthly_cost)} → {money(plan_b.total_monthly_cost)} "
        f"({_signed(plan_b.total_monthly_cost - plan_a.total_monthly_cost)}/month)"
    )


def _print_adopted(first: str, second: str, adopted: Sequence[AdoptionChange]) -> None:
    if not adopted:
        return
    from rich.markup import escape
    from rich.table import Table

    from skaal.cli.render import make_console

    table = Table(show_edge=True, title="adopted (existing, never created)")
    table.add_column("resource")
    table.add_column(first)
    table.add_column(second)
    for change in adopted:
        table.add_row(
            escape(change.resource),
            escape(change.a or "- (created)"),
            escape(change.b or "- (created)"),
        )
    make_console().print(table)


def _signed(amount: float) -> str:
    from skaal.cli.render import money

    return ("+" if amount >= 0 else "-") + money(abs(amount))


@env.command("promote")
@click.argument("first", metavar="A")
@click.argument("second", metavar="B")
@click.argument("app_ref", required=False, metavar="[APP_REF]")
@click.option("--no-write", is_flag=True, help="Show B's promoted plan without writing its lock.")
@click.option("--json", "as_json", is_flag=True, help="Print B's new plan and diff as JSON only.")
def promote(*, first: str, second: str, app_ref: str | None, no_write: bool, as_json: bool) -> None:
    """Plan environment B with every placement of A's plan pinned, and write B's lock.

    B keeps its own catalog (its prices, sizes and regions); the promotion is
    refused when that catalog does not offer a backend A's plan uses.
    """
    from skaal.cli.paths import catalog_for
    from skaal.cli.plan import _load_catalog
    from skaal.declare.app_ref import load_app
    from skaal.declare.checks import check_app
    from skaal.envs.compare import lock_path, promotion_pins, read_env_plan
    from skaal.envs.existing import adoptions
    from skaal.pipeline import DryRunLockStore, FileLockStore, LockStore, plan_blueprint

    cwd = Path.cwd()
    project = _project(cwd)
    source = project.get(first, where="skaal env promote A")
    target = project.get(second, where="skaal env promote B")
    if source.name == target.name:
        raise UsageError(
            f"cannot promote {first} to itself",
            where="skaal env promote A B",
            fix="name two different environments, e.g. skaal env promote staging prod",
        )
    plan_a = read_env_plan(project, source)
    app = load_app(app_ref, cwd=cwd)
    check_app(app)
    blueprint = app.blueprint()
    catalog_ref, target_name = catalog_for(None, None, target, project, cwd=cwd)
    catalog = _load_catalog(catalog_ref, target_name, cwd=cwd)
    pins = promotion_pins(
        plan_a, blueprint, catalog, source_env=source.name, target_env=target.name
    )
    existing = adoptions(project, target, blueprint, catalog.provider)
    store: LockStore = FileLockStore(lock_path(project, target))
    if no_write:
        store = DryRunLockStore(store)
    from skaal.declare.project import project_traces

    outcome = plan_blueprint(
        blueprint,
        catalog,
        lock=store,
        pins=pins,
        existing=existing,
        traces=project_traces(app_ref, cwd=cwd),
    )
    written = None if no_write else target.lock
    if as_json:
        _emit_json(
            {
                "from": source.name,
                "to": target.name,
                "pins": dict(sorted(pins.items())),
                "plan": outcome.plan.json_data(),
                "plan_hash": outcome.plan.content_hash(),
                "diff": outcome.diff.to_json(),
                "lock": written,
            }
        )
        return
    from skaal.cli.render import make_console, render_diff, render_notes

    console = make_console()
    render_notes(console, outcome.notes)
    console.print(
        f"promoted {len(pins)} placements of {source.name} to {target.name} "
        f"(catalog {catalog.name})"
    )
    render_diff(console, outcome.diff, lock=target.lock)
    console.print(f"wrote {target.lock}" if written else f"{target.lock} not written (--no-write)")


def _emit_json(data: Mapping[str, Any]) -> None:
    echo_json(data)
