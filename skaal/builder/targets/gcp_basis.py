"""What the parts of the gcp stack model share: names, functions, regions, identities.

:class:`Basis` holds the blueprint, plan and wiring while
:func:`skaal.builder.targets.gcp_stack.gcp_stack` computes the stack model,
and what the services will need from the state parts (environment entries,
Cloud SQL sockets, the VPC connectors).  The parts live in
:mod:`~skaal.builder.targets.gcp_stack`, :mod:`~skaal.builder.targets.gcp_state`,
:mod:`~skaal.builder.targets.gcp_messaging`, :mod:`~skaal.builder.targets.gcp_servers`
and :mod:`~skaal.builder.targets.gcp_gateway`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable

from msgspec import Struct

from skaal.blueprint.model import Blueprint, ResourceSpec
from skaal.builder.moves import check_moves, origins
from skaal.builder.regions import Regions, regions
from skaal.builder.stacks.gcp import RUNTIME_ACCOUNT, Condition, Env, Grant, ProjectGrant
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import pending_moves, serving_plan
from skaal.plan.pubsub import max_delivery_attempts
from skaal.plan.wiring import (
    FIRESTORE_DEFAULT_DATABASE,
    SecretScope,
    Wiring,
    reached,
    wire,
)

__all__ = [
    "CLOUD_RUN_FUNCTION_ENV",
    "CLOUD_RUN_ROLE_ENV",
    "FIRESTORE_DATABASE",
    "GATEWAY_ACCOUNT",
    "GCP_PROJECT_ENV",
    "INVOKER_ACCOUNT",
    "MIGRATION_ACCOUNT",
    "PROMOTE_PATH",
    "PUSH_PATH",
    "RUNTIME_ACCOUNT",
    "SCHEDULE_PATH",
    "Basis",
    "Functions",
    "Identity",
    "functions",
    "gcp_regions",
    "max_delivery_attempts",
    "physical_name",
    "seconds",
    "service_vars",
]

CLOUD_RUN_ROLE_ENV = "SKAAL_CLOUD_RUN_ROLE"
CLOUD_RUN_FUNCTION_ENV = "SKAAL_CLOUD_RUN_FUNCTION"
"""The declared function a ``function``-role service runs."""
GCP_PROJECT_ENV = "GOOGLE_CLOUD_PROJECT"
"""Read by the Google clients of the runtime (:mod:`skaal.runtime.backends.gcp_common`)."""
FIRESTORE_DATABASE = FIRESTORE_DEFAULT_DATABASE
"""The runtime's Firestore client uses the project's default database."""
SCHEDULE_PATH = "/_skaal/schedule/"
PUSH_PATH = "/_skaal/push/"
PROMOTE_PATH = "/_skaal/promote/"
"""Where Pub/Sub pushes a queue's delayed messages when the queue has a consumer."""
INVOKER_ACCOUNT = "invoker"
"""The key of the account Cloud Scheduler and Pub/Sub push call with."""
GATEWAY_ACCOUNT = "gateway"
"""The key of the account the API Gateway calls the services with."""
MIGRATION_ACCOUNT = "migrate"
"""The key of the migration runner's account (and of its service): a stack with pending moves."""
_NOT_NAME = re.compile(r"[^a-z0-9]+")


def physical_name(app: str, resource: str, *, max_length: int = 63, separator: str = "-") -> str:
    """A lowercase ``<app>-<resource>`` name of at most ``max_length`` (hash-suffixed if cut)."""
    name = separator.join(
        p
        for p in (_NOT_NAME.sub(separator, x.lower()).strip(separator) for x in (app, resource))
        if p
    )
    if len(name) > max_length:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: max_length - 9].rstrip(separator)}{separator}{digest}"
    return name


def seconds(value: float) -> str:
    return f"{math.ceil(value)}s"


class Functions(Struct, frozen=True):
    web: tuple[ResourceSpec, ...]
    schedules: tuple[ResourceSpec, ...]
    consumers: tuple[ResourceSpec, ...]
    subscribers: tuple[ResourceSpec, ...]
    mounts: int

    @property
    def all(self) -> tuple[ResourceSpec, ...]:
        return (*self.web, *self.schedules, *self.consumers, *self.subscribers)


def functions(blueprint: Blueprint) -> Functions:
    fns = [r for r in blueprint.resources if r.kind == "function"]
    return Functions(
        web=tuple(f for f in fns if f.http and f.schedule is None and not _is_push(f)),
        schedules=tuple(f for f in fns if f.schedule is not None),
        consumers=tuple(f for f in fns if f.consumes is not None),
        subscribers=tuple(f for f in fns if f.subscribes is not None),
        mounts=len(blueprint.mounts),
    )


def gcp_regions(blueprint: Blueprint, plan: Plan, wiring: Wiring) -> Regions:
    """Where a gcp stack builds each resource (:mod:`skaal.builder.regions`); the stack's
    region is the one of the most HTTP functions (the API Gateway's and ``web``'s)."""
    routed = frozenset(f.name for f in functions(blueprint).web)
    return regions(plan, wiring.servers, routed=routed)


def _is_push(spec: ResourceSpec) -> bool:
    return spec.consumes is not None or spec.subscribes is not None


class Basis:
    """What the parts of a gcp stack share while it is computed.

    The plan's wiring, functions, regions and identities, and what the
    services will need from the state parts (environment entries, Cloud SQL
    sockets, VPC connectors), collected as the parts are computed.
    """

    def __init__(
        self,
        blueprint: Blueprint,
        plan: Plan,
        env: str = "",
        config: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.blueprint = blueprint
        self.plan = plan
        self.wiring: Wiring = wire(plan, env_name=env, config=config)
        self.name_base = self.wiring.name_base
        """What the stack's physical names start with: ``app``, or ``app-env``."""
        self.fns = functions(blueprint)
        self.regions = gcp_regions(blueprint, plan, self.wiring)
        """Where each resource is built."""
        self.env: list[tuple[frozenset[str], Env]] = []
        """Environment entries of the services, each with the resources it serves."""
        self.sockets: list[tuple[frozenset[str], str]] = []
        """Cloud SQL instances (keys), each with the resources it hosts."""
        self.vpc: dict[str, str] = {}
        """Region -> the key of its Serverless VPC Access connector."""
        self.vpc_resources: dict[str, frozenset[str]] = {}
        """Region -> the resources reached through its connector (Memorystore's)."""
        self.scope = SecretScope.of(blueprint)
        self.service_vars = service_vars(f.name for f in self.fns.all)
        """Function -> the key (and logical name) of its Cloud Run service."""
        self.http = frozenset(f.name for f in self.fns.web)
        """The HTTP functions: the gateway routes to their services."""
        self.secret_env: dict[str, Env] = {}
        """Declared secret -> its environment entry (each service gets the ones it may read)."""
        self.migration_region = check_moves(plan, target="gcp")
        """Where the migration runner copies the pending moves (``None``: no move)."""
        self.kept = tuple(origins(plan))
        """The origins of the pending moves: provisioned as before the move until the switch."""
        self.moving = frozenset(b.resource for b in pending_moves(plan))
        self._before: Wiring = wire(serving_plan(plan), env_name=env, config=config)
        self._identities: tuple[Identity, ...] | None = None

    def physical(self, binding: Binding) -> str:
        """The physical name of ``binding``: a kept origin's is the one it was created with."""
        wiring = self._before if binding in self.kept else self.wiring
        return wiring.resource(binding.resource).physical_name

    # -- identities --------------------------------------------------------------
    @property
    def has_triggered(self) -> bool:
        """Whether any function is started by Cloud Scheduler or Pub/Sub push (the invoker)."""
        return bool(self.fns.schedules or self.fns.consumers or self.fns.subscribers)

    @property
    def has_gateway(self) -> bool:
        """Whether the app answers HTTP (the API Gateway and ``web``): it has HTTP
        functions or mounted apps, or nothing else to run (then only its docs)."""
        return bool(self.fns.web or self.fns.mounts or not self.fns.all)

    def identities(self) -> tuple[Identity, ...]:
        """The service accounts the Cloud Run services run as: ``web``'s, then one per function.

        ``web`` serves the docs and the mounted apps; each declared function
        runs in a service of its own, as an identity of its own.
        """
        if self._identities is not None:
            return self._identities
        # a mounted app's use of the data cannot be read: web then reaches everything
        web = Identity(
            None, RUNTIME_ACCOUNT, "", ("_http",), None if self.fns.mounts else frozenset(), "web"
        )
        runner = Identity(
            None, MIGRATION_ACCOUNT, "-migrate", (), self.moving, MIGRATION_ACCOUNT, runner=True
        )
        self._identities = (
            web,
            *(_function_identity(f, self.service_vars[f.name]) for f in self.fns.all),
            *((runner,) if self.moving else ()),
        )
        return self._identities

    def serving(self) -> tuple[Identity, ...]:
        """The identities that get a Cloud Run service (``web`` only behind the gateway)."""
        web, *functions = self.identities()
        return (web, *functions) if self.has_gateway else tuple(functions)

    def users(self, *resources: str) -> tuple[Identity, ...]:
        """The identities whose services open any of ``resources`` (they get its data roles)."""
        return tuple(i for i in self.identities() if self.reaches(i, frozenset(resources)))

    def readers(self, secret: str) -> tuple[Identity, ...]:
        """The identities whose functions may read the declared ``secret`` (never the
        migration runner's: it copies data, it reads no secret)."""
        return tuple(i for i in self.identities() if secret in self.readable(i))

    def readable(self, identity: Identity) -> tuple[str, ...]:
        """The declared secrets ``identity``'s service may read."""
        return () if identity.runner else self.scope.readable(*identity.functions)

    def reaches(self, identity: Identity, resources: frozenset[str]) -> bool:
        """Whether ``identity``'s service opens any of ``resources``."""
        return identity.reaches is None or not identity.reaches.isdisjoint(resources)

    def share(self, entry: Env, *resources: str) -> None:
        """Give the environment ``entry`` to the services that open any of ``resources``."""
        self.env.append((frozenset(resources), entry))

    # -- grants ------------------------------------------------------------------
    def grants(self, name: str, role: str, to: tuple[Identity, ...]) -> tuple[Grant, ...]:
        """``role`` on one resource to each identity of ``to``."""
        return tuple(Grant(name=name + i.suffix, role=role, member=i.account) for i in to)

    def project_grants(
        self, name: str, role: str, condition: Condition, to: tuple[Identity, ...]
    ) -> tuple[ProjectGrant, ...]:
        """``role`` on the project under ``condition`` to each identity of ``to``."""
        return tuple(
            ProjectGrant(name=name + i.suffix, role=role, member=i.account, condition=condition)
            for i in to
        )


class Identity(Struct, frozen=True):
    """The service account one Cloud Run service runs as."""

    function: str | None
    """The declared function its service runs (``None`` for ``web``)."""
    account: str
    """The key of its account (:attr:`skaal.builder.stacks.gcp.Account.key`)."""
    suffix: str
    """Appended to the logical name of each of its grants (none for ``web``)."""
    functions: tuple[str, ...]
    """The declared functions it serves (``_http``: the docs and mounted apps)."""
    reaches: frozenset[str] | None
    """The state resources its service opens (``SKAAL_USED_RESOURCES``): what its
    functions use; ``None`` (every one) when it serves mounted apps."""

    service: str
    """The key (and logical name) of its Cloud Run service."""
    runner: bool = False
    """The migration runner's (:mod:`skaal.builder.targets.gcp_moves`): it reaches
    both ends of the pending moves, and nothing else."""

    @property
    def role(self) -> str:
        """``web``, ``function`` or ``migrate``: what its service serves
        (``SKAAL_CLOUD_RUN_ROLE``, :data:`skaal.hosts.cloud_run.ROLES`)."""
        if self.runner:
            return "migrate"
        return "web" if self.function is None else "function"


def _identifier(name: str) -> str:
    """``name`` in lowercase letters, digits and ``_``: part of a program variable."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def service_vars(functions: Iterable[str]) -> dict[str, str]:
    """Each function's program variable (and logical name) of its Cloud Run service.

    ``fn_`` and the name in lowercase letters, digits and ``_``; names that
    would share one (``a.b`` and ``a_b``) each get 8 hex digits of their hash.
    """
    names = sorted(set(functions))
    plain = {name: "fn_" + _identifier(name) for name in names}
    taken = Counter(plain.values())
    return {
        name: var if taken[var] == 1 else f"{var}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        for name, var in plain.items()
    }


def _function_identity(function: ResourceSpec, var: str) -> Identity:
    return Identity(
        function.name,
        f"{var}-runtime",
        f"-{function.name}",
        (function.name,),
        _reach((function,)),
        var,
    )


def _reach(functions: Iterable[ResourceSpec]) -> frozenset[str]:
    return frozenset(name for f in functions for name in reached(f))
