"""Environments side by side: their locks, how two plans differ, promoting one to another.

* :func:`summaries` -- one :class:`EnvSummary` per declared environment:
  its catalog, its lock and, when the lock exists, the plan's total.
* :func:`compare` -- how environment B's plan differs from A's, binding by
  binding (:func:`skaal.plan.diff.diff_plans` with A as the old plan): the
  resources placed differently, those only one plan has, and both totals.
* :func:`adoption_changes` -- the resources one plan adopts an existing
  resource for (:attr:`~skaal.plan.model.Binding.adopted`) where the other
  creates it or adopts another one: ``[tool.skaal.envs.NAME.existing]``
  usually differs between environments (:mod:`skaal.envs.existing`).
* :func:`promotion_pins` -- promoting A to B: every placement of A's plan,
  as pins for B (``{resource: backend}``).  B is then planned against its own
  catalog with those pins (:func:`skaal.pipeline.plan_blueprint`), so B runs
  on the same backends as A, priced and sized by B's catalog; each promoted
  placement is marked ``pinned`` in the lock B gets, and later plans of B keep
  it where it is (the lock anchors them) unless asked to ``--reoptimize``.
  A backend of A that B's catalog does not offer (another provider, a
  removed backend) refuses the promotion with a
  :class:`~skaal.errors.PlanError` listing them, before anything is written.

Reading a lock goes through :func:`skaal.plan.lock.read_lock`; nothing here
plans or writes (the command does, through the pipeline).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from msgspec import Struct

from skaal.errors import PlanError
from skaal.plan.diff import PlanDiff, diff_plans
from skaal.plan.lock import read_lock

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint
    from skaal.catalog.model import Catalog
    from skaal.envs.config import Environment, Project
    from skaal.plan.model import Plan

__all__ = [
    "AdoptionChange",
    "EnvSummary",
    "adoption_changes",
    "compare",
    "lock_path",
    "promotion_pins",
    "read_env_plan",
    "summaries",
]


class EnvSummary(Struct, frozen=True):
    """What ``skaal env list`` shows for one environment."""

    name: str
    default: bool
    catalog: str
    lock: str
    plan: Plan | None
    """The plan in its lock; ``None`` when it has none yet."""
    problem: str | None = None
    """Why the lock could not be read, if it could not."""

    @property
    def total(self) -> float | None:
        return None if self.plan is None else self.plan.total_monthly_cost


def summaries(project: Project) -> tuple[EnvSummary, ...]:
    """One summary per declared environment, sorted by name."""
    out = []
    for name, env in sorted(project.envs.items()):
        plan: Plan | None = None
        problem = None
        try:
            plan = read_lock(project.root / env.lock)
        except PlanError as exc:
            problem = exc.what
        out.append(
            EnvSummary(
                name=name,
                default=name == project.default,
                catalog=env.catalog_ref,
                lock=env.lock,
                plan=plan,
                problem=problem,
            )
        )
    return tuple(out)


def read_env_plan(project: Project, env: Environment) -> Plan:
    """The plan in ``env``'s lock; a :class:`PlanError` saying how to make one if none."""
    plan = read_lock(project.root / env.lock)
    if plan is None:
        raise PlanError(
            f"environment {env.name!r} has no plan yet ({env.lock} does not exist)",
            where=str(project.root / env.lock),
            fix=f"plan it first: skaal plan --env {env.name}",
            command=f"skaal plan --env {env.name}",
        )
    return plan


def compare(a: Plan, b: Plan) -> PlanDiff:
    """How ``b`` differs from ``a``: ``added`` are in ``b`` only, ``removed`` in ``a`` only."""
    return diff_plans(a, b)


class AdoptionChange(Struct, frozen=True):
    """One resource adopted differently by two plans (``None``: created, not adopted)."""

    resource: str
    a: str | None
    b: str | None


def adoption_changes(a: Plan, b: Plan) -> tuple[AdoptionChange, ...]:
    """The resources of both plans whose adopted existing resource differs, by name."""
    in_b = {binding.resource: binding for binding in b.bindings}
    return tuple(
        AdoptionChange(binding.resource, binding.adopted, other.adopted)
        for binding in sorted(a.bindings, key=lambda x: x.resource)
        if (other := in_b.get(binding.resource)) is not None and other.adopted != binding.adopted
    )


def promotion_pins(
    source: Plan, blueprint: Blueprint, catalog: Catalog, *, source_env: str, target_env: str
) -> Mapping[str, str]:
    """Every placement of ``source`` still declared, as pins for the target environment.

    A :class:`PlanError` when the target's ``catalog`` lacks one of the backends.
    """
    declared = {spec.name for spec in blueprint.resources}
    pins = {b.resource: b.backend for b in source.bindings if b.resource in declared}
    offered = {backend.name for backend in catalog.backends}
    missing = sorted({backend for backend in pins.values() if backend not in offered})
    if missing:
        used = ", ".join(
            f"{resource} on {backend}"
            for resource, backend in sorted(pins.items())
            if backend in missing
        )
        raise PlanError(
            f"cannot promote {source_env} to {target_env}: catalog {catalog.name!r} of "
            f"{target_env} has no backend {', '.join(repr(m) for m in missing)} ({used})",
            where=f"environment {target_env} (catalog {catalog.name})",
            fix=f"promote between environments whose catalogs offer the same backends, or "
            f"give {target_env} a catalog that offers them (catalog = ... in "
            f"[tool.skaal.envs.{target_env}])",
            command="skaal env diff " + f"{source_env} {target_env}",
        )
    return pins


def lock_path(project: Project, env: Environment) -> Path:
    """Where ``env``'s lock is."""
    return project.root / env.lock
