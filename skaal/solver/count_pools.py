"""Where each resource counts against the catalog's count quotas, and how many it creates.

A count quota (:class:`~skaal.catalog.model.CountQuota`) counts what the
resources on a dedicated backend create (a table per map on DynamoDB, three
topics per queue on Pub/Sub, a role per function on Lambda) in a *pool*: the
quota in one region, or over the whole account.  :mod:`.counts` keeps a plan
within them, and :mod:`.count_rows` writes them into the pooled relaxation.
"""

from __future__ import annotations

from collections import Counter

from skaal.blueprint.model import ResourceSpec
from skaal.catalog.model import Backend, CountQuota
from skaal.solver.problem import Option, Problem

__all__ = ["Pool", "Quotas", "pool_of"]

#: A quota in one place: (backend, quota name, region; "" for a quota over the account or
#: the app).
Pool = tuple[str, str, str]


class Quotas:
    """The catalog's count quotas, by backend, and how many each resource uses of one."""

    def __init__(self, problem: Problem) -> None:
        self.by_backend = {b.name: (b, b.counts) for b in problem.catalog.backends if b.counts}
        # a topic's subscribers each add a subscription (Pub/Sub)
        self.subscribers = Counter(
            s.subscribes for s in problem.blueprint.resources if s.subscribes is not None
        )

    def on(self, backend: str) -> tuple[CountQuota, ...]:
        """The quotas of ``backend`` (none for most)."""
        found = self.by_backend.get(backend)
        return () if found is None else found[1]

    def of(self, pool: Pool) -> tuple[Backend, CountQuota]:
        """The backend and the quota of ``pool``."""
        backend, counted = self.by_backend[pool[0]]
        return backend, next(q for q in counted if q.name == pool[1])

    def units(self, quota: CountQuota, spec: ResourceSpec) -> int:
        """How many of what ``quota`` counts ``spec`` creates."""
        return quota.used_by(
            spec.kind,
            subscribers=self.subscribers.get(spec.name, 0),
            scheduled=spec.schedule is not None,
            routed=spec.routed,
        )


def pool_of(problem: Problem, quota: CountQuota, option: Option) -> Pool:
    """The pool ``option`` counts against under ``quota`` (its region ``""`` for a quota
    over the account or the app)."""
    region = "" if quota.scope != "region" else option.region or problem.catalog.region
    return (option.backend, quota.name, region)
