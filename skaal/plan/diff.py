"""What changed between the previous plan (the lock) and a new one.

``diff_plans(old, new)`` compares bindings by resource name:

* **added**: in ``new`` only (a new declaration, or the first plan at all);
* **removed**: in ``old`` only (a declaration was deleted);
* **changed**: in both, with another backend, region or shared instance, or a
  monthly cost that differs by at least half a cent;
* **kept**: in both, on the same backend, region and shared instance (its cost
  may have changed with the catalog's prices).

plus the total monthly cost before and after.  "Kept since the last lock" is
a fact about this run, not about the plan: the plan says why a backend was
chosen, and is the same whether it was planned once or ten times, so the lock
only changes when the plan does (see :data:`skaal.plan.model.BindingStatus`).

The diff is frozen data; the CLI renders it (``+ Carts → dynamodb $2.40``)
and ``--json`` serialises it with :meth:`PlanDiff.to_json`.
"""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from skaal.plan.model import Binding, Plan

__all__ = ["BindingChange", "PlanDiff", "diff_plans"]

_CENT = 0.005


class BindingChange(Struct, frozen=True):
    """One resource whose placement or cost changed."""

    old: Binding
    new: Binding

    @property
    def resource(self) -> str:
        return self.new.resource

    @property
    def backend_changed(self) -> bool:
        return _placement(self.old) != _placement(self.new)

    @property
    def cost_delta(self) -> float:
        return self.new.monthly_cost - self.old.monthly_cost


class PlanDiff(Struct, frozen=True):
    """Bindings added, removed and changed, and the total cost before and after."""

    added: tuple[Binding, ...]
    removed: tuple[Binding, ...]
    changed: tuple[BindingChange, ...]
    old_total: float | None
    """``None`` when there was no previous plan."""
    new_total: float
    kept: tuple[str, ...] = ()
    """Resources placed where the previous plan had them (sorted names)."""

    @property
    def first_plan(self) -> bool:
        return self.old_total is None

    @property
    def total_delta(self) -> float:
        return self.new_total - (self.old_total or 0.0)

    @property
    def is_empty(self) -> bool:
        """True when nothing a reader would notice changed."""
        return (
            not (self.added or self.removed or self.changed)
            and self.old_total is not None
            and abs(self.total_delta) < _CENT
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "first_plan": self.first_plan,
            "added": [_brief(b) for b in self.added],
            "removed": [_brief(b) for b in self.removed],
            "changed": [
                {"resource": c.resource, "old": _brief(c.old), "new": _brief(c.new)}
                for c in self.changed
            ],
            "kept": list(self.kept),
            "old_total": self.old_total,
            "new_total": self.new_total,
            "total_delta": self.total_delta,
            "empty": self.is_empty,
        }


def _brief(binding: Binding) -> dict[str, Any]:
    return {
        "resource": binding.resource,
        "backend": binding.backend,
        "region": binding.region,
        "instance": binding.instance,
        "monthly_cost": binding.monthly_cost,
    }


def diff_plans(old: Plan | None, new: Plan) -> PlanDiff:
    """Compare ``new`` with ``old`` (``None``: everything is added).

    A binding that is the previous record itself (:func:`skaal.plan.moves.record_moves`
    keeps every unchanged one so) is kept and unchanged without being compared: a re-plan
    that moves nothing compares no binding of its 100,000.
    """
    before = {b.resource: b for b in old.bindings} if old is not None else {}
    if new is old:  # the lock's plan, kept whole: everything kept, nothing else
        return PlanDiff(
            added=(),
            removed=(),
            changed=(),
            old_total=new.total_monthly_cost,
            new_total=new.total_monthly_cost,
            kept=tuple(sorted(before)),
        )
    after = {b.resource: b for b in new.bindings}
    both = sorted(before.keys() & after.keys())
    changed: list[BindingChange] = []
    kept: list[str] = []
    for name in both:
        was, now = before[name], after[name]
        if was is now:
            kept.append(name)
            continue
        moved = _placement(was) != _placement(now)
        if not moved:
            kept.append(name)
        if moved or abs(now.monthly_cost - was.monthly_cost) >= _CENT:
            changed.append(BindingChange(old=was, new=now))
    return PlanDiff(
        added=tuple(after[name] for name in sorted(after.keys() - before.keys())),
        removed=tuple(before[name] for name in sorted(before.keys() - after.keys())),
        changed=tuple(changed),
        old_total=old.total_monthly_cost if old is not None else None,
        new_total=new.total_monthly_cost,
        kept=tuple(kept),
    )


def _placement(binding: Binding) -> tuple[str, str, str | None, str | None]:
    return binding.backend, binding.region, binding.instance, binding.adopted
