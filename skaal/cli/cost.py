"""``skaal cost``: the monthly bill of the plan in the lock, line by line.

Reads ``skaal.lock`` and never re-solves: the plan already itemises every
cost (:mod:`skaal.plan.bill` lays it out).  The lock must exist and still
match the app's declarations and the catalog it was planned against (the
check ``skaal build`` makes), so the bill is the bill of what would be built.

* Without ``--by``: one row per priced item -- each resource's storage,
  requests, compute or provisioned capacity, each shared instance's class
  fee and volume floor, the network's NAT gateway -- with its quantity, the
  catalog's unit price, its source page and the date that page was read.
* ``--by resource|item|backend``: the same lines summed by that key.
* ``--reoptimize``: what ``skaal plan --reoptimize`` would change, by the
  same key (default: resource).  The saving the lock records is one figure;
  where it comes from needs the plan re-optimised, so this re-solves against
  the catalog (with the lock's pins, writing nothing) and compares the bills.
* ``--json`` prints one JSON document and nothing else on stdout.
* ``--env NAME`` prices environment NAME: its lock, checked against its catalog.

Exit codes: 0 priced, 1 no lock / stale lock / unreadable lock, 2 usage
errors (bad app reference, unknown catalog).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from skaal.cli.json_text import echo_json
from skaal.cli.paths import catalog_for, check_path, current_env, env_option, lock_for, lock_option
from skaal.errors import PlanError, SkaalError

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint
    from skaal.catalog.model import Catalog
    from skaal.plan.bill import Bill, BillDelta, Grouping
    from skaal.plan.model import Plan

__all__ = ["cost", "pins_of"]


@click.command("cost")
@click.argument("app_ref", required=False, metavar="[APP_REF]", callback=check_path)
@click.option(
    "--by",
    type=click.Choice(["resource", "item", "backend"]),
    help="Sum the lines by resource, priced item or backend [default: every line].",
)
@click.option(
    "--reoptimize",
    is_flag=True,
    help="Re-solve against the catalog (writing nothing) and show what "
    "skaal plan --reoptimize would change.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the bill as JSON only.")
@lock_option
@env_option
@click.option(
    "--catalog",
    "catalog_ref",
    metavar="PATH_OR_NAME",
    callback=check_path,
    help="Catalog the lock was planned against [default: its provider's bundled one].",
)
def cost(
    *,
    app_ref: str | None,
    by: str | None,
    reoptimize: bool,
    as_json: bool,
    lock_path: str | None,
    env_name: str | None,
    catalog_ref: str | None,
) -> None:
    """Show the monthly bill of the plan in the lock, with every price's source.

    APP_REF is module.path:attr or path/to/file.py:attr (attribute defaults
    to "app"); without it, [tool.skaal] app in pyproject.toml is used.  The
    app is loaded to check that the lock is not stale (and, with
    --reoptimize, to re-solve it).
    """
    grouping = cast("Grouping | None", by)
    try:
        _run(
            app_ref=app_ref,
            by=grouping,
            reoptimize=reoptimize,
            as_json=as_json,
            lock_path=lock_path,
            env_name=env_name,
            catalog_ref=catalog_ref,
        )
    except SkaalError as exc:
        if as_json:
            _emit_json(
                {
                    "error": {
                        "type": type(exc).__name__,
                        "message": exc.what,
                        "where": exc.where,
                        "fix": exc.fix,
                        "exit_code": exc.exit_code,
                    }
                }
            )
        raise


def pins_of(plan: Plan) -> dict[str, str]:
    """The placements the plan was pinned to (``--pin`` or ``backend=``), to re-solve with."""
    return {b.resource: b.backend for b in plan.bindings if b.status == "pinned"}


def _run(
    *,
    app_ref: str | None,
    by: Grouping | None,
    reoptimize: bool,
    as_json: bool,
    lock_path: str | None,
    env_name: str | None,
    catalog_ref: str | None,
) -> None:
    cwd = Path.cwd()
    env, project = current_env(env_name, cwd=cwd)
    lock_path = lock_for(lock_path, env, project, cwd=cwd)
    catalog_ref, _ = catalog_for(catalog_ref, None, env, project, cwd=cwd)
    plan, blueprint, catalog = _inputs(app_ref, cwd=cwd, lock=lock_path, catalog_ref=catalog_ref)
    from skaal.plan.bill import bill_of, compare_bills

    bill = bill_of(plan)
    other: Bill | None = None
    deltas: tuple[BillDelta, ...] = ()
    if reoptimize:
        from skaal.envs.existing import configured_existing
        from skaal.solver import solve

        # what `skaal plan --reoptimize` would write now, with the lock's pins and
        # the environment's adoptions
        fresh = solve(
            blueprint,
            catalog,
            pins=pins_of(plan),
            reoptimize=True,
            existing=configured_existing(project, env)[0],
            traces=plan.traces,
        )
        other = bill_of(fresh)
        deltas = compare_bills(bill, other, by or "resource")
    if as_json:
        _emit_json(_bill_json(bill, by, lock_path, other, deltas))
        return
    from skaal.cli.render import make_console
    from skaal.cli.render_cost import render_bill, render_reoptimize

    console = make_console()
    render_bill(console, bill, by=by, lock=lock_path)
    if other is not None:
        render_reoptimize(console, bill, other, deltas, by=by or "resource")


def _inputs(
    app_ref: str | None, *, cwd: Path, lock: str, catalog_ref: str | None
) -> tuple[Plan, Blueprint, Catalog]:
    """The plan in the lock, if it still matches the app and its catalog, and those."""
    from skaal.plan.lock import read_lock

    plan = read_lock(cwd / lock)
    if plan is None:
        raise PlanError(
            f"there is no lock file to price ({lock} does not exist)",
            where=lock,
            fix="plan the app first: skaal cost prices the plan in the lock",
            command="skaal plan",
        )
    from skaal.builder.inputs import load_catalog_for
    from skaal.declare.app_ref import load_app
    from skaal.plan.lock import is_stale

    blueprint = load_app(app_ref, cwd=cwd).blueprint()
    catalog = load_catalog_for(plan.provider, catalog_ref, cwd=cwd)
    reasons = is_stale(plan, blueprint, catalog)
    if reasons:
        command = f"skaal plan --target {plan.provider}"
        if catalog_ref is not None:
            command = f"skaal plan --catalog {catalog_ref}"
        raise PlanError(
            f"{lock} is stale: {'; '.join(reasons)}",
            where=lock,
            fix="re-plan so the lock describes what would be built, then ask for the bill "
            "again (or pass --catalog the catalog the lock was planned against)",
            command=command,
        )
    return plan, blueprint, catalog


def _bill_json(
    bill: Bill,
    by: Grouping | None,
    lock: str,
    other: Bill | None,
    deltas: tuple[BillDelta, ...],
) -> dict[str, Any]:
    from skaal.plan.bill import group_bill

    data: dict[str, Any] = {"lock": lock, **bill.to_json(), "by": by}
    if by is not None:
        data["groups"] = [
            {"key": g.key, "lines": g.lines, "monthly": g.monthly}
            for g in group_bill(bill.lines, by)
        ]
    if other is not None:
        data["reoptimize"] = {
            "by": by or "resource",
            "total_monthly_cost": other.total,
            "saving": round(bill.total - other.total, 6) + 0.0,
            "changes": [
                {"key": d.key, "current": d.current, "reoptimized": d.other, "delta": d.delta}
                for d in deltas
            ],
            "lines": [line.to_json() for line in other.lines],
        }
    return data


def _emit_json(data: Mapping[str, Any]) -> None:
    echo_json(data)
