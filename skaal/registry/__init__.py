"""The implementation registry: which backend implementations Skaal can run and build.

A catalog entry names an ``implementation``; the solver may only choose an
entry whose implementation is registered here for the resource's kind and the
catalog's provider.  Plan ⇒ buildable ⇒ runnable starts here: a user can add
any backend to a catalog, but the planner will say it has no implementation
rather than produce a plan nothing can run.

Each implementation is one record (:class:`Implementation`,
:mod:`skaal.registry.model`): its kinds and providers, its runtime factory,
connection variables, packages, network needs with their priced items, the
provisioning parameters the plan must carry, and what a build keeps of its
resources and for how long.  The planner, the builders,
the plan's network lines and the runtime all read these records
(:mod:`skaal.registry.builtin` holds the bundled ones); ``Registry.check``
answers "can this backend be chosen?" with a reason when it cannot.
"""

from __future__ import annotations

from skaal.registry.builtin import DEFAULT_REGISTRY
from skaal.registry.model import (
    Connection,
    Implementation,
    Keeping,
    Network,
    Provisioning,
    Registry,
)

__all__ = [
    "DEFAULT_REGISTRY",
    "Connection",
    "Implementation",
    "Keeping",
    "Network",
    "Provisioning",
    "Registry",
]
