"""``skaal plan``: choose the cheapest backends that meet every declaration.

Loads the app (:mod:`skaal.declare.app_ref`), checks what its functions would
do per request (:mod:`skaal.declare.checks`), loads the catalog
(``--catalog`` or ``--target``, default the bundled ``local`` catalog), runs
:func:`skaal.pipeline.plan_blueprint` against the lock file and prints the
plan, the shared instances, the total and what changed since the last lock.

* ``--pin RES=BACKEND`` forces a placement (repeatable).
* ``--reoptimize`` lets the solver move resources the lock already placed.
* ``--no-write`` plans without touching the lock: the pipeline gets a
  :class:`~skaal.pipeline.DryRunLockStore` instead of the file store.
* ``--explain RES`` lists every backend for one resource with its cost, or
  the constraints that rejected it; it never writes the lock.
* ``--json`` prints one JSON document on stdout and nothing else there: the
  plan, its hash, the diff, the notes and the ``graph`` the dashboard draws
  (:mod:`skaal.graph.model`).
* ``--graph out.svg`` (or ``out.html``) also writes the plan as a picture
  (:mod:`skaal.graph.svg`): functions, state, shared instances, their
  triggers and uses, each box with its backend, region and monthly cost.
* ``--env NAME`` plans environment NAME (:mod:`skaal.envs`): its catalog
  unless ``--catalog``/``--target`` is given, its lock ``skaal.<env>.lock``
  unless ``--lock`` is, and the existing resources it adopts
  (``[tool.skaal.envs.NAME.existing]``, :mod:`skaal.envs.existing`).

The whole command runs with Python's cyclic garbage collector paused
(:func:`skaal.solver.collector.collector_paused`, restored on the way out):
the classes of an app of thousands of declarations, its blueprint, the plan
and its JSON are all long-lived objects, and every full collection would
rescan them (about a tenth of the CPU of planning 10,000 resources).

Exit codes: 0 planned, 1 no feasible plan (the diagnosis is printed and the
lock is left as it was), 2 usage errors.  rich is imported only for
human-readable output.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from skaal.cli.json_text import echo_json, echo_json_sections
from skaal.cli.paths import catalog_for, check_path, current_env, env_option, lock_for, lock_option
from skaal.errors import SkaalError, UnsatisfiableError, UsageError, did_you_mean

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint
    from skaal.catalog.model import Catalog
    from skaal.pipeline import LockStore, PlanOutcome
    from skaal.plan.model import Binding, Plan
    from skaal.solver.diagnosis import CandidateReport
    from skaal.solver.problem import ResourceOptions

__all__ = ["parse_pins", "plan"]

TARGETS = ("local", "aws", "gcp")


@click.command("plan")
@click.argument("app_ref", required=False, metavar="[APP_REF]", callback=check_path)
@click.option(
    "--catalog",
    "catalog_ref",
    metavar="PATH_OR_NAME",
    callback=check_path,
    help="Catalog file or bundled catalog name (instead of --target).",
)
@click.option(
    "--target",
    type=click.Choice(TARGETS),
    help="Plan against the bundled catalog of this target [default: local].",
)
@click.option(
    "--pin",
    "pins",
    multiple=True,
    metavar="RES=BACKEND",
    help="Force RES onto BACKEND (repeatable).",
)
@click.option("--reoptimize", is_flag=True, help="Allow moving resources the lock already placed.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan and diff as JSON only.")
@click.option("--explain", metavar="RES", help="Show every candidate backend for RES and why.")
@click.option(
    "--graph",
    "graph_path",
    metavar="FILE",
    help="Also write the plan as a picture: FILE.svg, or FILE.html holding it.",
)
@lock_option
@env_option
@click.option("--no-write", is_flag=True, help="Plan without writing the lock file.")
def plan(
    *,
    graph_path: str | None = None,
    app_ref: str | None,
    catalog_ref: str | None,
    target: str | None,
    pins: tuple[str, ...],
    reoptimize: bool,
    as_json: bool,
    explain: str | None,
    lock_path: str | None,
    env_name: str | None,
    no_write: bool,
) -> None:
    """Plan the cheapest backends meeting every constraint of APP_REF.

    APP_REF is module.path:attr or path/to/file.py:attr (attribute defaults
    to "app"); without it, [tool.skaal] app in pyproject.toml is used.
    """
    # Paused before the solver package is imported (Skaal's record classes are
    # built then), not only once it is: the collections those imports would
    # trigger find nothing to free.
    collecting = gc.isenabled()
    gc.disable()
    try:
        # here, not at the top: skaal --help imports this module, and the solver
        # package loads the records
        from skaal.solver.collector import collector_paused

        with collector_paused():  # short-lived, allocation-heavy: see the module docstring
            _run(
                app_ref=app_ref,
                catalog_ref=catalog_ref,
                target=target,
                pin_args=pins,
                reoptimize=reoptimize,
                as_json=as_json,
                explain=explain,
                lock_path=lock_path,
                env_name=env_name,
                no_write=no_write,
                graph_path=graph_path,
            )
    except SkaalError as exc:
        if as_json:
            _emit_json({"error": _error_json(exc)})
        raise
    finally:
        if collecting:
            gc.enable()


def parse_pins(args: tuple[str, ...] | list[str]) -> dict[str, str]:
    """``("Carts=dynamodb",)`` → ``{"Carts": "dynamodb"}``; ``UsageError`` on bad syntax."""
    pins: dict[str, str] = {}
    for arg in args:
        resource, sep, backend = (part.strip() for part in arg.partition("="))
        if not sep or not resource or not backend or "=" in backend:
            raise UsageError(
                f"--pin {arg!r} is not RESOURCE=BACKEND",
                where="--pin",
                fix="write --pin Carts=dynamodb (repeat --pin for more resources)",
            )
        if pins.get(resource, backend) != backend:
            raise UsageError(
                f"{resource} is pinned twice: to {pins[resource]!r} and to {backend!r}",
                where="--pin",
                fix="keep one --pin per resource",
            )
        pins[resource] = backend
    return pins


def _run(
    *,
    app_ref: str | None,
    catalog_ref: str | None,
    target: str | None,
    pin_args: tuple[str, ...],
    reoptimize: bool,
    as_json: bool,
    explain: str | None,
    lock_path: str | None,
    env_name: str | None,
    no_write: bool,
    graph_path: str | None = None,
) -> None:
    if catalog_ref is not None and target is not None:
        raise UsageError(
            "--catalog and --target cannot be used together",
            fix="use --target for a bundled catalog, or --catalog for a file or catalog name",
        )
    pins = parse_pins(pin_args)
    graph_format = _graph_format(graph_path)
    cwd = Path.cwd()
    env, project = current_env(env_name, cwd=cwd)
    lock_path = lock_for(lock_path, env, project, cwd=cwd)
    catalog_ref, target = catalog_for(catalog_ref, target, env, project, cwd=cwd)
    from skaal.declare.app_ref import load_app

    app = load_app(app_ref, cwd=cwd)
    from skaal.declare.checks import check_app

    check_app(app)
    blueprint = app.blueprint()
    _check_pins(pins, blueprint)
    catalog = _load_catalog(catalog_ref, target, cwd=cwd)
    from skaal.envs.existing import adoptions

    existing = adoptions(project, env, blueprint, catalog.provider)

    from skaal.pipeline import DryRunLockStore, FileLockStore, plan_blueprint

    lock_file = cwd / lock_path
    store: LockStore = FileLockStore(lock_file)
    if explain is not None:
        _explain(explain, blueprint, catalog, store, pins=pins, existing=existing, as_json=as_json)
        return
    if no_write:
        store = DryRunLockStore(store)
    from skaal.declare.project import project_traces

    outcome = plan_blueprint(
        blueprint,
        catalog,
        lock=store,
        pins=pins,
        reoptimize=reoptimize,
        existing=existing,
        traces=project_traces(app_ref, cwd=cwd),
    )
    written = None if no_write else lock_path
    if graph_path is not None:
        _write_graph(cwd / graph_path, graph_format, blueprint, outcome.plan)
    if as_json:
        echo_json_sections(_outcome_json(outcome, written, blueprint))
    else:
        _print_outcome(outcome, written, lock_path, blueprint)


def _check_pins(pins: Mapping[str, str], blueprint: Blueprint) -> None:
    names = [spec.name for spec in blueprint.resources]
    for resource in pins:
        if resource not in names:
            raise UsageError(
                f"--pin names {resource!r}, which {blueprint.app} does not declare"
                f"{did_you_mean(resource, names)}",
                where="--pin",
                fix=f"resources: {', '.join(names) or 'none'}",
            )


def _load_catalog(ref: str | None, target: str | None, *, cwd: Path) -> Catalog:
    from skaal.catalog import catalog_for_target, load_catalog
    from skaal.catalog.locate import is_path_ref

    if ref is None:
        return catalog_for_target(target or "local")
    if is_path_ref(ref):
        return load_catalog(cwd / ref)
    return load_catalog(ref)


def _print_outcome(
    outcome: PlanOutcome, written: str | None, lock_path: str, blueprint: Blueprint
) -> None:
    from skaal.cli.render import (
        make_console,
        render_diff,
        render_moves,
        render_notes,
        render_plan,
    )

    console = make_console()
    render_notes(console, outcome.notes)
    render_plan(console, outcome.plan, blueprint)
    render_diff(console, outcome.diff, lock=None if outcome.notes else lock_path)
    render_moves(console, outcome.plan, blueprint, lock=lock_path)
    if written is None:
        console.print(f"{lock_path} not written (--no-write)")
    else:
        console.print(f"wrote {written}")


def _outcome_json(
    outcome: PlanOutcome, written: str | None, blueprint: Blueprint
) -> dict[str, Callable[[], Any]]:
    """The ``--json`` document, each value made as it is written (:func:`echo_json_sections`)."""
    from skaal.graph.model import plan_graph
    from skaal.plan.moves import pending_moves

    plan = outcome.plan
    # "plan" is written just before "plan_hash" (keys are written sorted): the hash is
    # taken of the same dump rather than of a second one (0.05 s at 10,000 resources)
    dumps: list[dict[str, Any]] = []

    def plan_json() -> dict[str, Any]:
        dumps.append(plan.json_data())
        return dumps[-1]

    return {
        "plan": plan_json,
        "plan_hash": lambda: plan.content_hash(dumps.pop() if dumps else None),
        "diff": outcome.diff.to_json,
        "moves": lambda: [_move_json(b) for b in pending_moves(plan)],
        "notes": lambda: list(outcome.notes),
        "lock": lambda: written,
        "graph": lambda: plan_graph(blueprint, plan).to_json(),
    }


def _move_json(binding: Binding) -> dict[str, Any]:
    assert binding.moving_from is not None  # a pending move
    return {
        "resource": binding.resource,
        "from": binding.moving_from.backend,
        "to": binding.backend,
        "from_adopted": binding.moving_from.adopted,
        "to_adopted": binding.adopted,
    }


def _graph_format(path: str | None) -> str:
    """``svg`` or ``html`` from the name given to ``--graph``; a ``UsageError`` otherwise."""
    if path is None:
        return ""
    suffix = Path(path).suffix.lower()
    if suffix in (".svg", ".html", ".htm"):
        return "svg" if suffix == ".svg" else "html"
    raise UsageError(
        f"--graph {path!r} names neither an .svg nor an .html file",
        where="--graph",
        fix="write --graph plan.svg (a picture) or --graph plan.html (a page holding it)",
    )


def _write_graph(path: Path, fmt: str, blueprint: Blueprint, plan: Plan) -> None:
    from skaal.graph.model import plan_graph
    from skaal.graph.svg import graph_html, graph_svg

    graph = plan_graph(blueprint, plan)
    text = graph_svg(graph) if fmt == "svg" else graph_html(graph)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the plan graph to {path}: {exc.strerror}",
            where="--graph",
            fix="give a path in an existing, writable directory",
        ) from None


def _explain(
    name: str,
    blueprint: Blueprint,
    catalog: Catalog,
    store: LockStore,
    *,
    pins: Mapping[str, str],
    existing: Mapping[str, str],
    as_json: bool,
) -> None:
    names = [spec.name for spec in blueprint.resources]
    if name not in names:
        raise UsageError(
            f"--explain names {name!r}, which {blueprint.app} does not declare"
            f"{did_you_mean(name, names)}",
            where="--explain",
            fix=f"resources: {', '.join(names) or 'none'}",
        )
    from skaal.pipeline import DryRunLockStore, plan_blueprint
    from skaal.solver.diagnosis import explain as explain_resource
    from skaal.solver.feasibility import build_problem

    problem = build_problem(blueprint, catalog, pins=pins, existing=existing)
    options = next(r for r in problem.resources if r.spec.name == name)
    reports = explain_resource(problem, name)
    chosen: str | None = None
    failure: UnsatisfiableError | None = None
    try:
        outcome = plan_blueprint(
            blueprint, catalog, lock=DryRunLockStore(store), pins=pins, existing=existing
        )
        chosen = outcome.plan.binding(name).backend
    except UnsatisfiableError as exc:
        failure = exc
    if as_json:
        data = _explanation_json(options, reports, chosen)
        if failure is not None:
            data["error"] = _error_json(failure)
        _emit_json(data)
        if failure is not None:
            raise click.exceptions.Exit(failure.exit_code)
    else:
        from skaal.cli.render import make_console, render_explanation

        render_explanation(make_console(), options, reports, chosen=chosen, catalog=catalog.name)
    if failure is not None:
        raise failure


def _explanation_json(
    options: ResourceOptions, reports: Sequence[CandidateReport], chosen: str | None
) -> dict[str, Any]:
    return {
        "resource": options.spec.name,
        "kind": options.spec.kind,
        "location": str(options.spec.location),
        "chosen": chosen,
        "candidates": [
            {
                "backend": r.backend,
                "feasible": r.feasible,
                "monthly_cost": r.cost,
                "region": r.region,
                "cost": [line.model_dump(mode="json") for line in r.lines],
                "unchecked": list(r.unchecked),
                "rejections": [
                    {
                        "constraint": x.constraint,
                        "asked": x.asked,
                        "offered": x.offered,
                        "relaxation": x.relaxation,
                    }
                    for x in r.rejections
                ],
            }
            for r in reports
        ],
    }


def _error_json(exc: SkaalError) -> dict[str, Any]:
    data: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": exc.what,
        "where": exc.where,
        "fix": exc.fix,
        "exit_code": exc.exit_code,
    }
    if isinstance(exc, UnsatisfiableError):
        from skaal.cli.render import diagnosis_text

        data["diagnosis"] = diagnosis_text(exc)
    return data


def _emit_json(data: Mapping[str, Any]) -> None:
    echo_json(data)
