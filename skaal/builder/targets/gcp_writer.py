"""The shared state and helpers of the gcp program generator.

:class:`ProgramWriter` holds what the sections of the program share while it
is generated: the blueprint, plan and wiring, the text written so far (and
the text that must come after the Cloud Run services, which push
subscriptions and schedules point at), and what the services will need from
the state sections (environment entries, Cloud SQL volumes, the VPC
connector).  The sections live in :mod:`~skaal.builder.targets.gcp_program`,
:mod:`~skaal.builder.targets.gcp_messaging` and
:mod:`~skaal.builder.targets.gcp_servers`.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from skaal.blueprint.model import Blueprint, ResourceSpec
from skaal.builder.regions import Regions, regions
from skaal.builder.targets.gcp_code import Code, call
from skaal.plan.model import Plan
from skaal.plan.pubsub import max_delivery_attempts
from skaal.plan.wiring import FIRESTORE_DEFAULT_DATABASE, SecretScope, Wiring, reached, wire

__all__ = [
    "CLOUD_RUN_FUNCTION_ENV",
    "CLOUD_RUN_ROLE_ENV",
    "FIRESTORE_DATABASE",
    "GCP_PROJECT_ENV",
    "PROMOTE_PATH",
    "PUSH_PATH",
    "SCHEDULE_PATH",
    "Functions",
    "Identity",
    "ProgramWriter",
    "functions",
    "gcp_regions",
    "max_delivery_attempts",
    "physical_name",
    "seconds",
    "secret_env",
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


@dataclass(frozen=True, slots=True)
class Functions:
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


class ProgramWriter:
    """Accumulates the program text, section by section (the sections are subclasses')."""

    def __init__(
        self,
        blueprint: Blueprint,
        plan: Plan,
        stack: str,
        env: str = "",
        config: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.blueprint = blueprint
        self.plan = plan
        self.wiring: Wiring = wire(plan, env_name=env, config=config)
        self.name_base = self.wiring.name_base
        """What the program's physical names start with: ``app``, or ``app-env``."""
        self.fns = functions(blueprint)
        self.regions = gcp_regions(blueprint, plan, self.wiring)
        """Where each resource is built; ``REGION`` in the program is the stack's."""
        self.stack = stack
        self.parts: list[str] = []
        self.after: list[str] = []
        self.env: list[tuple[frozenset[str], object]] = []
        """Environment entries of the services, each with the resources it serves."""
        self.sockets: list[tuple[frozenset[str], Code]] = []
        """Cloud SQL connection names, each with the resources of its instance."""
        self.vpc: dict[str, Code] = {}
        """Region -> its Serverless VPC Access connector (one per region with Memorystore)."""
        self.vpc_resources: dict[str, frozenset[str]] = {}
        """Region -> the resources reached through its connector (Memorystore's)."""
        self.needs_project_number = False
        self.scope = SecretScope.of(blueprint)
        self.service_vars = service_vars(f.name for f in self.fns.all)
        """Function -> the program's variable of its Cloud Run service."""
        self.http = frozenset(f.name for f in self.fns.web)
        """The HTTP functions: the gateway routes to their services."""
        self._identities: tuple[Identity, ...] | None = None
        self.secret_env: dict[str, dict[str, object]] = {}
        """Declared secret -> its environment entry (each service gets the ones it may read)."""
        self.overrides = False
        self.traces = False
        """Export spans to Cloud Trace (:mod:`skaal.builder.traces`)."""
        """Whether the program installs the project's hooks (``skaal_overrides.py``)."""

    def at(self, region: str) -> str:
        """The program's expression of ``region``: ``REGION`` for the stack's, else the name."""
        return "REGION" if region == self.regions.stack else repr(region)

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
            None,
            "runtime_account",
            "RUNTIME",
            "",
            ("_http",),
            None if self.fns.mounts else frozenset(),
            "web",
        )
        self._identities = (
            web,
            *(_function_identity(f, self.service_vars[f.name]) for f in self.fns.all),
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
        """The identities whose functions may read the declared ``secret``."""
        return tuple(i for i in self.identities() if secret in self.scope.readable(*i.functions))

    def reaches(self, identity: Identity, resources: frozenset[str]) -> bool:
        """Whether ``identity``'s service opens any of ``resources``."""
        return identity.reaches is None or not identity.reaches.isdisjoint(resources)

    def share(self, entry: object, *resources: str) -> None:
        """Give the environment ``entry`` to the services that open any of ``resources``."""
        self.env.append((frozenset(resources), entry))

    # -- helpers -----------------------------------------------------------------
    def add(self, text: str) -> None:
        self.parts.append(text)

    def later(self, text: str) -> None:
        """Code that needs the Cloud Run services (push endpoints): emitted after them."""
        self.after.append(text)

    def section(self, title: str) -> None:
        self.add(f"\n# -- {title} " + "-" * max(3, 74 - len(title)) + "\n")

    def var(self, resource: str) -> str:
        return "r_" + _identifier(resource)

    def grant(
        self,
        name: str,
        constructor: str,
        scope: dict[str, object],
        role: str,
        *,
        to: tuple[Identity, ...] | None = None,
    ) -> None:
        """Grant ``role`` on one resource to each identity of ``to`` (default: every one)."""
        for identity in self.identities() if to is None else to:
            member = Code(identity.member)
            self.add(
                call(
                    None,
                    constructor,
                    name + identity.suffix,
                    {**scope, "role": role, "member": member},
                )
            )

    def conditional_grant(
        self,
        name: str,
        role: str,
        title: str,
        expression: Code,
        *,
        to: tuple[Identity, ...] | None = None,
    ) -> None:
        """Grant ``role`` on the project under ``expression`` to each of ``to`` (default: all)."""
        for identity in self.identities() if to is None else to:
            self.add(
                call(
                    None,
                    "gcp.projects.IAMMember",
                    name + identity.suffix,
                    {
                        "project": Code("PROJECT"),
                        "role": role,
                        "member": Code(identity.member),
                        "condition": {"title": title, "expression": expression},
                    },
                )
            )


@dataclass(frozen=True, slots=True)
class Identity:
    """The service account one Cloud Run service runs as."""

    function: str | None
    """The declared function its service runs (``None`` for ``web``)."""
    var: str
    """The program's variable of the account."""
    member: str
    """The program's variable of its IAM member (``serviceAccount:...``)."""
    suffix: str
    """Appended to the logical name of each of its grants (none for ``web``)."""
    functions: tuple[str, ...]
    """The declared functions it serves (``_http``: the docs and mounted apps)."""
    reaches: frozenset[str] | None
    """The state resources its service opens (``SKAAL_USED_RESOURCES``): what its
    functions use; ``None`` (every one) when it serves mounted apps."""

    service: str
    """The logical name of its Cloud Run service (and the program's variable of it)."""

    @property
    def role(self) -> str:
        """``web`` or ``function``: what its service serves (``SKAAL_CLOUD_RUN_ROLE``)."""
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
        f"{var}_account",
        var.upper(),
        f"-{function.name}",
        (function.name,),
        _reach((function,)),
        var,
    )


def _reach(functions: Iterable[ResourceSpec]) -> frozenset[str]:
    return frozenset(name for f in functions for name in reached(f))


def secret_env(name: str, secret_id: str) -> dict[str, object]:
    return {
        "name": name,
        "value_source": {"secret_key_ref": {"secret": Code(secret_id), "version": "latest"}},
    }
