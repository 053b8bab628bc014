"""The plan ``skaal run`` serves: the lock's, honoured, or a new local one.

``skaal run`` never swaps the plan it was given.  A lock planned for the
``local`` provider is honoured with the catalog it names (``local``,
``local-servers``, ...), its pins and its shared servers:

* no lock yet: the app is planned against the bundled ``local`` catalog (or
  the environment's catalog, for ``skaal run --env``, when it is a local one)
  and the lock is written, as ``skaal plan`` would;
* a lock that still matches the declarations and its catalog is served as
  it is, and not rewritten;
* a lock whose declarations or catalog changed is re-planned against **the
  same catalog**, keeping its placements (the lock is the previous plan)
  and its pins, and rewritten -- never against another catalog;
* a lock whose catalog cannot be found (a catalog file, not a bundled
  name) is served as it is while it matches the declarations; otherwise
  ``skaal run`` refuses with a :class:`~skaal.errors.PlanError` naming the
  catalog and the ``skaal plan --catalog ...`` command that re-plans it.

A lock for another provider (``skaal plan --target aws``) or one that cannot
be read is left untouched: the local plan is then made in memory, with a
note saying so.  Every path first runs the plan-time checks of
:func:`skaal.declare.checks.check_app`, so a function that would fail on
every request stops ``skaal run`` before it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from skaal.catalog import bundled_catalogs, catalog_for_target, load_catalog
from skaal.declare.checks import check_app
from skaal.errors import PlanError
from skaal.pipeline import DryRunLockStore, FileLockStore, MemoryLockStore, plan_blueprint
from skaal.plan.lock import is_stale

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint
    from skaal.catalog.model import Catalog
    from skaal.declare.app import App
    from skaal.pipeline import LockStore, Solver
    from skaal.plan.model import Plan

__all__ = ["lock_pins", "plan_local"]

LOCAL = "local"


def plan_local(
    app: App,
    *,
    cwd: Path,
    lock: str = "skaal.lock",
    solver: Solver | None = None,
    catalog: Catalog | None = None,
) -> tuple[Plan, tuple[str, ...]]:
    """The plan to serve ``app`` with, and notes for the user (see the module docstring).

    ``catalog`` (an environment's) replaces the bundled ``local`` one when it
    is for the local provider; a catalog for a cloud is not served locally.
    """
    if catalog is None or catalog.provider != LOCAL:
        catalog = catalog_for_target(LOCAL)
    check_app(app)
    blueprint = app.blueprint()
    store: LockStore = FileLockStore(cwd / lock)
    try:
        stored = store.read()
    except PlanError:
        outcome = plan_blueprint(blueprint, catalog, lock=MemoryLockStore(), solver=solver)
        note = f"{lock} cannot be read; planning in memory and leaving it as it is"
        return outcome.plan, (*outcome.notes, note)
    if stored is None:
        outcome = plan_blueprint(blueprint, catalog, lock=store, solver=solver)
        return outcome.plan, outcome.notes
    if stored.provider != LOCAL:
        outcome = plan_blueprint(blueprint, catalog, lock=DryRunLockStore(store), solver=solver)
        note = (
            f"{lock} holds a plan for {stored.provider!r}; planning for local in memory "
            "and leaving the lock as it is"
        )
        return outcome.plan, (*outcome.notes, note)
    return _honour(stored, blueprint, store, lock=lock, solver=solver, given=catalog)


def _honour(
    stored: Plan,
    blueprint: Blueprint,
    store: LockStore,
    *,
    lock: str,
    solver: Solver | None,
    given: Catalog,
) -> tuple[Plan, tuple[str, ...]]:
    """Serve a local lock as planned, or re-plan it against its own catalog."""
    matches = stored.app == blueprint.app and stored.blueprint_hash == blueprint.content_hash()
    catalog = given if given.name == stored.catalog else _catalog_named(stored.catalog)
    if catalog is None:
        if matches:
            return stored, (
                f"{lock} was planned against catalog {stored.catalog!r}, which is not bundled: "
                "serving it as planned (re-plan with skaal plan --catalog PATH after editing "
                "that catalog)",
            )
        raise PlanError(
            f"{lock} was planned against catalog {stored.catalog!r} and the declarations "
            "changed since; skaal run re-plans only against the lock's own catalog, and "
            f"{stored.catalog!r} is not a bundled catalog it can find",
            where=lock,
            fix=f"re-plan against that catalog file (skaal plan --catalog path/to/"
            f"{stored.catalog}.toml), or switch deliberately: skaal plan --catalog local",
            command="skaal plan --catalog PATH",
        )
    reasons = is_stale(stored, blueprint, catalog)
    if not reasons:
        return stored, ()
    outcome = plan_blueprint(
        blueprint, catalog, lock=store, pins=lock_pins(stored, blueprint), solver=solver
    )
    note = (
        f"{lock} re-planned against its catalog {catalog.name!r} ({'; '.join(reasons)}), "
        "keeping its placements and pins"
    )
    return outcome.plan, (*outcome.notes, note)


def lock_pins(stored: Plan, blueprint: Blueprint) -> Mapping[str, str]:
    """The lock's pinned placements that still apply: resources still declared, and
    not pinned in their declaration (a ``backend=`` in the code wins over the lock)."""
    specs = {spec.name: spec for spec in blueprint.resources}
    pins: dict[str, str] = {}
    for binding in stored.bindings:
        spec = specs.get(binding.resource)
        if binding.status != "pinned" or spec is None or spec.requirements.backend is not None:
            continue
        pins[binding.resource] = binding.backend
    return pins


def _catalog_named(name: str) -> Catalog | None:
    """The bundled catalog called ``name``, or ``None`` if there is none."""
    if name not in bundled_catalogs():
        return None
    return load_catalog(name)
