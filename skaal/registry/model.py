"""The record of one backend implementation, and the registry that holds them.

An :class:`Implementation` says everything Skaal knows about one backend
implementation outside its own runtime module and builder sections: which
kinds it serves on which providers, what starts a function implementation,
where its runtime provider is, the variables a server implementation is
connected through, the Python packages its runtime imports, the network a
build creates to reach it (and the plan's cost lines for that network), the
size parameters the plan must carry to create one of its servers, what a
build keeps of its resources and for how long (backups, messages, previous
versions, logs: :class:`Keeping`), and the naming rule of its physical
names.  Every other module reads these fields; no other module keeps a
table keyed by implementation name.

The record is plain data, so this module sits below every stage: it imports
only the model types (``Kind``, ``Provider``) and the error root.  The
runtime factory is a ``"module:attribute"`` string that only the runtime
resolves (:mod:`skaal.runtime.backends`), so planning never imports a
backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from msgspec import Struct, field

from skaal.blueprint.model import Kind
from skaal.errors import SkaalError, did_you_mean
from skaal.model.providers import Provider

__all__ = ["Connection", "Implementation", "Keeping", "Network", "Provisioning", "Registry"]


def _nothing() -> Mapping[Provider, Any]:
    return MappingProxyType({})


class Connection(Struct, frozen=True):
    """How the runtime reaches a server implementation (one whose resources live on an
    instance the plan sizes), by the variables of the first server of the plan.

    Other servers of the same implementation read ``<url>_<SERVER ID>``
    (:func:`skaal.plan.wiring.servers`); the runtime hands each provider its
    own server's value in ``url``.
    """

    url: str
    """The variable holding the connection URL or DSN (``SKAAL_REDIS_URL``)."""
    pool_size: str
    """The variable holding this process's share of the server's connections."""
    read_url: str = ""
    """The variable holding the URL of the server's read replicas (``SKAAL_REDIS_READ_URL``),
    where the implementation serves reads from them; empty: it never does."""
    replicas: str = ""
    """The variable holding how many read replicas answer at ``read_url``."""


class Network(Struct, frozen=True):
    """What a build on one provider creates so the functions reach the implementation.

    ``vpc``: the functions reach it inside the provider's network -- on aws
    Lambda functions in private subnets, leaving through one NAT gateway; on
    gcp Cloud Run services through one Serverless VPC Access connector.  A
    plan pays for that way in once, whichever implementations need it: the
    cost-line components in ``priced`` (priced in :mod:`skaal.plan.network`).
    ``port``: the TCP port its servers listen on, which the functions may open.
    ``gateway_endpoints``: the AWS services the functions reach through a
    (free) gateway endpoint when they are in the VPC, not through the NAT.
    """

    vpc: bool = False
    port: int | None = None
    gateway_endpoints: tuple[str, ...] = ()
    priced: tuple[str, ...] = ()
    """The plan's network cost-line components that ``vpc`` brings (empty: free)."""


class Provisioning(Struct, frozen=True):
    """What the plan must record for a target to create one server of the implementation.

    ``parameters``: the keys of the catalog class's ``parameters`` the
    target creates the server from (the provider's own names for its size:
    ``instance_class`` for RDS); ``disk``: the server keeps its data on a
    volume, so the plan must give its ``disk_gb``.
    """

    parameters: tuple[str, ...] = ()
    disk: bool = False


class Keeping(Struct, frozen=True):
    """What a build on one provider keeps of the implementation's resources, and how long.

    The plan records it for each resource (:mod:`skaal.plan.retention`), the
    catalog prices it (``backup_per_gb_month``, ``log_storage_per_gb_month``)
    and the builders set it.  ``None``: the build sets nothing.
    """

    backup_days: int | None = None
    """Point-in-time recovery or automated backups of the data, this many days back."""
    backup_ephemeral: bool = True
    """Whether a resource declared ``ephemeral`` is backed up too: a table is backed up
    alone (no), a database every resource shares as a whole (yes)."""
    messages_default_s: int | None = None
    """A queue's or topic's message retention when it declares none."""
    messages_min_s: int = 1
    messages_max_s: int | None = None
    """The retention the service accepts: a declared one is brought within them."""
    dead_letters_s: int | None = None
    """How long a queue's dead letters are kept."""
    versions_days: int | None = None
    """How long a blob store not declared ``ephemeral`` keeps an object's previous version."""
    logs_days: int | None = None
    """A function implementation: how long its logs are kept."""


class _Named(Struct, frozen=True):
    """The fields of an :class:`Implementation` that may be given by position.

    A base of its own because msgspec makes the fields of a class
    keyword-only as a whole (``kw_only=True``), not one by one.
    """

    name: str
    kinds: frozenset[Kind]
    providers: frozenset[Provider]
    summary: str
    triggered_by: Mapping[Kind, frozenset[str]] | None = None
    """For a function implementation started by messages (an AWS Lambda is
    invoked by an event source): per kind, the implementations of the queue or
    topic that can start it.  ``None``: its consumers poll in-process, so any
    implementation will do."""


class Implementation(_Named, frozen=True, kw_only=True):
    """A backend implementation: where it runs and what running and building it take.

    ``name``, ``kinds``, ``providers``, ``summary`` and ``triggered_by`` (of
    :class:`_Named`) may be given by position; the other fields by keyword only.
    """

    runtime: str | None = None
    """The runtime provider factory, ``"module:attribute"`` (called with the
    :class:`~skaal.runtime.ports.BackendSettings`); ``None`` for a function
    implementation, which the serving process itself is."""
    packages: tuple[str, ...] = ()
    """The distributions the runtime of this implementation imports (pinned in
    every build's ``requirements.txt``)."""
    connection: Connection | None = None
    """The variables of a server implementation; ``None`` for a managed service."""
    network: Mapping[Provider, Network] = field(default_factory=_nothing)
    """Per provider, what a build creates to reach it (absent: nothing)."""
    provisioning: Mapping[Provider, Provisioning] = field(default_factory=_nothing)
    """Per provider, what the plan must carry to create one of its servers."""
    keeping: Mapping[Provider, Keeping] = field(default_factory=_nothing)
    """Per provider, what a build keeps of its resources and how long (absent: nothing)."""
    naming: str | None = None
    """The service whose naming rule its physical names follow
    (:data:`skaal.plan.naming.MAX_LENGTH`); ``None``: the strictest one."""


class Registry(Struct, frozen=True):
    """Implementations by name; immutable, so tests build their own."""

    implementations: Mapping[str, Implementation] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[Implementation]) -> Registry:
        return cls(MappingProxyType({i.name: i for i in sorted(items, key=lambda i: i.name)}))

    def __iter__(self) -> Iterator[Implementation]:
        return iter(self.implementations.values())

    def check(self, implementation: str, kind: Kind, provider: Provider) -> str | None:
        """``None`` if ``implementation`` can serve ``kind`` on ``provider``, else why not."""
        impl = self.implementations.get(implementation)
        if impl is None:
            return f"no runtime implementation named {implementation!r}"
        if kind not in impl.kinds:
            return f"implementation {implementation!r} does not serve a {kind}"
        if provider not in impl.providers:
            return f"implementation {implementation!r} cannot be built for {provider}"
        return None

    def names(self) -> tuple[str, ...]:
        return tuple(self.implementations)

    def require(
        self,
        implementation: str,
        *,
        error: type[SkaalError],
        where: str,
        fix: str = "re-plan, so that the plan names only implementations this Skaal knows",
        command: str | None = "skaal plan",
    ) -> Implementation:
        """The record of ``implementation``; ``error`` (the caller's stage) if it has none."""
        impl = self.implementations.get(implementation)
        if impl is None:
            raise error(
                f"no backend implementation is named {implementation!r}"
                f"{did_you_mean(implementation, self.implementations)}; "
                f"known: {', '.join(self.names())}",
                where=where,
                fix=fix,
                command=command,
            )
        return impl

    def triggers(self, function: str, kind: Kind) -> frozenset[str] | None:
        """The implementations of a ``kind`` that can start ``function`` (``None``: any)."""
        impl = self.implementations.get(function)
        if impl is None or impl.triggered_by is None:
            return None
        return impl.triggered_by.get(kind, frozenset())

    def connection(self, implementation: str) -> Connection | None:
        """The connection variables of a server implementation; ``None`` otherwise."""
        impl = self.implementations.get(implementation)
        return None if impl is None else impl.connection

    def network(self, implementation: str, provider: Provider) -> Network:
        """What a build on ``provider`` creates to reach ``implementation`` (maybe nothing)."""
        impl = self.implementations.get(implementation)
        return Network() if impl is None else impl.network.get(provider, Network())

    def provisioning(self, implementation: str, provider: Provider) -> Provisioning:
        """What the plan must carry for ``provider`` to create a server of ``implementation``."""
        impl = self.implementations.get(implementation)
        return Provisioning() if impl is None else impl.provisioning.get(provider, Provisioning())

    def keeping(self, implementation: str, provider: Provider) -> Keeping:
        """What a build on ``provider`` keeps of ``implementation``'s resources."""
        impl = self.implementations.get(implementation)
        return Keeping() if impl is None else impl.keeping.get(provider, Keeping())

    def backup_rule(self, implementation: str) -> Keeping | None:
        """The backups of ``implementation`` wherever it is backed up (they are alike on
        every such provider, as ``tests/test_registry.py`` checks); ``None``: never."""
        impl = self.implementations.get(implementation)
        kept = [k for k in impl.keeping.values() if k.backup_days] if impl is not None else []
        return kept[0] if kept else None

    def vpc_priced(self, provider: Provider) -> frozenset[str]:
        """The cost-line components of ``provider``'s VPC: what a plan pays once when any of
        its implementations needs the VPC there (empty when none does)."""
        return frozenset(
            component
            for impl in self
            if (network := impl.network.get(provider)) is not None and network.vpc
            for component in network.priced
        )
