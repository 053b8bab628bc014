"""``Runtime``: the plan made real -- one open backend per binding, typed clients per class.

``async with Runtime.open(app, plan, data_dir=...) as rt:`` does, in order:

1. reads the Blueprint (from the App, or given) and checks every declared
   state resource has a binding in the Plan (a stale plan fails here); a
   resource with a pending move (:mod:`skaal.plan.moves`) is served from the
   backend still holding its data until ``skaal migrate`` switches it;
2. creates one *provider* per implementation the plan uses, through the
   backend registry (:mod:`skaal.runtime.backends`) -- the runtime honours
   the plan: a resource bound to ``sqlite`` lives in the app's SQLite file;
   for a server implementation (Redis, PostgreSQL) one provider per *server*
   of the plan (:func:`skaal.plan.wiring.servers`), connected through that
   server's own variable, so a resource planned on instance B is on B;
3. opens a store per resource, read at the consistency its binding records
   (``Binding.consistency``, handed to the provider as
   ``BackendSettings.eventual_reads``: DynamoDB issues
   ``ConsistentRead=False`` for an eventual resource; a lock before schema 4
   records none and is read strong) and under the name of the existing
   table or bucket it adopts (``Binding.adopted``), resolves secrets (a missing required
   secret fails startup, naming every missing one), creates the
   subscriptions of declared topic subscribers (so they see every message
   from the start);
4. activates itself in the current context (see :mod:`skaal.declare.active`)
   so ``await Carts.get("k")`` works, and on exit closes everything.

Given ``telemetry`` (:class:`skaal.runtime.tracing.Telemetry`), or with
``SKAAL_TRACES=otlp`` in its environment (a deployed function exporting to
the cloud's collector), every store is wrapped so each operation is an
OpenTelemetry span; without either (the default) stores are used as they
are, and tracing costs nothing.

Typed clients are built on first use, from the declared class's type
arguments (``Map[str, Cart]`` → keys ``str``, values ``Cart``).
"""

from __future__ import annotations

import importlib
import os
import time
import types
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from msgspec import Struct
from pydantic import BaseModel

from skaal.blueprint.model import Blueprint, Kind, ResourceSpec
from skaal.declare.active import ACTIVE
from skaal.declare.app import App
from skaal.declare.introspect import object_ref
from skaal.declare.native import Backend, marker_of
from skaal.declare.resources import (
    BlobStore,
    Collection,
    Map,
    Queue,
    Resource,
    Secret,
    Topic,
    type_arguments,
)
from skaal.model.grammar import DURABILITY_LEVELS
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import serving_plan
from skaal.plan.naming import ENV_VARIABLE
from skaal.plan.wiring import (
    FUNCTION_ENV,
    PROCESSES_ENV,
    USED_RESOURCES_ENV,
    USES_OWN,
    compact_used,
    credentials_env,
    data_dir_from_env,
    is_compact,
    pool_size,
    readable_secrets,
    server_id,
    servers,
    used_resources,
)
from skaal.registry import DEFAULT_REGISTRY
from skaal.runtime.backends import FACTORIES, ProviderFactory, create_provider
from skaal.runtime.clients import (
    BlobClient,
    CollectionClient,
    MapClient,
    QueueClient,
    RetryPolicy,
    TopicClient,
    TopicSubscription,
)
from skaal.runtime.codecs import KeyCodec, ValueCodec
from skaal.runtime.errors import (
    InvalidSettingError,
    MissingSecretError,
    NotBoundError,
    ValueTypeError,
    WrongBackendError,
)
from skaal.runtime.ports import BackendSettings, Clock, Provider
from skaal.runtime.tracing import TracedStore, telemetry_from_env

if TYPE_CHECKING:
    from skaal.declare.native import Backend, Native
    from skaal.plan.wiring import ServerWiring
    from skaal.runtime.tracing import Telemetry

__all__ = ["DEFAULT_DATA_DIR", "Consumer", "Runtime", "Subscriber"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
C = TypeVar("C")
R = TypeVar("R", bound=Resource)

DEFAULT_DATA_DIR = Path(".skaal") / "data"
"""Where local backends keep their files, relative to the project directory."""

_STATE_KINDS: frozenset[Kind] = frozenset({"map", "collection", "blob", "queue", "topic"})

AnyClient = (
    MapClient[Any, Any] | CollectionClient[Any] | BlobClient | QueueClient[Any] | TopicClient[Any]
)


class Consumer(Struct, frozen=True):
    """A declared queue consumer: its function spec, the function, its queue's client."""

    spec: ResourceSpec
    handler: Callable[..., Any]
    queue: QueueClient[Any]


class Subscriber(Struct, frozen=True):
    """A declared topic subscriber, with its own named subscription."""

    spec: ResourceSpec
    handler: Callable[..., Any]
    subscription: TopicSubscription[Any]


class _Bound(Struct, frozen=True):
    spec: ResourceSpec
    binding: Binding
    store: Any


class Runtime:
    """The clients of one app for one plan.  Create with :meth:`Runtime.open`."""

    def __init__(
        self,
        blueprint: Blueprint,
        plan: Plan,
        *,
        objects: Mapping[tuple[str, Kind], object],
        settings: BackendSettings,
        retry: RetryPolicy,
        telemetry: Telemetry | None = None,
        wired: tuple[ServerWiring, ...] | None = None,
    ) -> None:
        self.blueprint = blueprint
        self.telemetry = telemetry
        self.plan = plan
        self._servers = servers(plan) if wired is None else wired
        """The servers and their variables, named from the whole plan (its moves' origins too)."""
        self.settings = settings
        self._objects = dict(objects)
        self._retry = retry
        self._bound: dict[str, _Bound] = {}
        self._providers: dict[str, Provider] = {}
        self._secrets: dict[str, str | None] = {}
        self._clients: dict[type, Any] = {}
        self._named: dict[str, AnyClient] = {}
        self._subscriptions: dict[str, tuple[ResourceSpec, TopicSubscription[Any]]] = {}
        self._unreached: frozenset[str] = frozenset()
        """Declared resources this process does not open (``SKAAL_USED_RESOURCES``)."""
        self._by_ref = {
            s.python_ref: s.name
            for s in blueprint.resources
            if s.kind in _STATE_KINDS and s.python_ref
        }
        self._by_object = {
            id(obj): name for (name, kind), obj in self._objects.items() if kind in _STATE_KINDS
        }

    # -- lifecycle ---------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        app: App | Blueprint,
        plan: Plan,
        *,
        data_dir: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        project_dir: Path | str | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        factories: Mapping[str, ProviderFactory] = FACTORIES,
        telemetry: Telemetry | None = None,
        named_by: Plan | None = None,
    ) -> AsyncIterator[Runtime]:
        """Open every backend the plan binds, activate, yield, then close everything.

        ``named_by``: the plan whose servers name the connection variables
        (:func:`skaal.plan.wiring.servers`; ``plan`` by default): the deployed
        lock, when ``plan`` is a view of it with some moves switched (``skaal
        migrate`` opens the destination so), whose server keeping an origin
        may have left.

        ``data_dir`` defaults to ``SKAAL_DATA_DIR`` from ``env`` (relative to
        ``project_dir``), else ``.skaal/data`` under ``project_dir`` (default:
        the working directory); ``env`` defaults to ``os.environ``; ``clock``
        (seconds since the epoch) is injectable for tests.  ``SKAAL_ENV`` in
        ``env`` names the environment served: physical names, key prefixes
        and schemas then start with ``<app>-<env>`` (:mod:`skaal.plan.naming`);
        ``telemetry`` turns on a span per storage and queue operation
        (:mod:`skaal.runtime.tracing`).
        """
        project = Path(project_dir) if project_dir is not None else Path.cwd()
        if data_dir is None:
            environ = os.environ if env is None else env
            data_dir = project / ds if (ds := data_dir_from_env(environ)) else None
        blueprint = app.blueprint() if isinstance(app, App) else app
        objects = app.declared_objects() if isinstance(app, App) else {}
        environment = dict(os.environ if env is None else env)
        settings = BackendSettings(
            app=blueprint.app,
            data_dir=Path(data_dir) if data_dir is not None else project / DEFAULT_DATA_DIR,
            project_dir=project,
            env=environment,
            clock=clock or time.time,
            env_name=environment.get(ENV_VARIABLE, "").strip(),
        )
        owned = None
        if telemetry is None and settings.env.get("SKAAL_TRACES"):
            telemetry = owned = telemetry_from_env(settings.env)
        runtime = cls(
            blueprint,
            serving_plan(plan),
            # the variables the deployment sets, as the builders named them
            wired=servers(plan if named_by is None else named_by),
            objects=objects,
            settings=settings,
            retry=retry or RetryPolicy(),
            telemetry=telemetry,
        )
        try:
            await runtime._start(factories)
            with runtime.activate():
                yield runtime
        finally:
            await runtime._stop()
            if owned is not None:
                owned.close()  # flush the exporters it opened

    @contextmanager
    def activate(self) -> Iterator[Runtime]:
        """Make this runtime the active one in the current context (e.g. per request)."""
        previous = ACTIVE.get()
        ACTIVE.set(self)
        try:
            yield self
        finally:
            ACTIVE.set(previous)

    async def _start(self, factories: Mapping[str, ProviderFactory]) -> None:
        specs = [s for s in self.blueprint.resources if s.kind in (*_STATE_KINDS, "secret")]
        bindings = {b.resource: b for b in self.plan.bindings}
        unbound = [s for s in specs if s.name not in bindings]
        if unbound:
            names = ", ".join(f"{s.name} ({s.location})" for s in unbound)
            raise NotBoundError(
                f"the plan has no binding for {names}: it was made before these were declared",
                where=names,
                fix="re-plan so every resource has a backend",
                command="skaal plan",
            )
        reachable = _used_resources(self.settings.env, self.blueprint)
        if reachable is not None:
            # a deployed function opens only what its role may reach (its ``uses``)
            self._unreached = frozenset(
                s.name for s in specs if s.kind != "secret" and s.name not in reachable
            )
            specs = [s for s in specs if s.name not in self._unreached]
        groups = _provider_groups(self.plan, specs, self._servers)
        for key, (impl, server, members) in sorted(groups.items()):
            levels = [s.requirements.durability or "persistent" for s in members]
            env = self.settings.env
            if server is not None:
                env = _server_env(env, server, self.plan)
            settings = BackendSettings(
                app=self.settings.app,
                data_dir=self.settings.data_dir,
                project_dir=self.settings.project_dir,
                env=env,
                clock=self.settings.clock,
                durability=max(levels, key=DURABILITY_LEVELS.index),
                region=bindings[members[0].name].region,
                eventual_reads=frozenset(
                    s.name for s in members if bindings[s.name].consistency == "eventual"
                ),
                adopted={s.name: adopted for s in members if (adopted := bindings[s.name].adopted)},
                env_name=self.settings.env_name,
            )
            owner = members[0].name
            provider = create_provider(impl, settings, factories=factories, resource=owner)
            await provider.open()
            self._providers[key] = provider
        provider_of = {s.name: key for key, (_, _, members) in groups.items() for s in members}
        missing: list[str] = []
        readable = _readable_secrets(self.settings.env)
        for spec in specs:
            binding = bindings[spec.name]
            provider = self._providers[provider_of[spec.name]]
            if spec.kind == "secret" and readable is not None and spec.name not in readable:
                continue  # another function's secret: this process may not read it
            if spec.kind == "secret":
                secret_store = provider.secrets()
                value = await secret_store.get(spec.name)
                self._secrets[spec.name] = value
                declared = self._objects.get((spec.name, "secret"))
                required = declared.required if isinstance(declared, Secret) else True
                if value is None and required:
                    missing.append(spec.name)
                continue
            store = _store(provider, spec)
            await store.open()
            if self.telemetry is not None:
                store = TracedStore(
                    store,
                    telemetry=self.telemetry,
                    resource=spec.name,
                    kind=spec.kind,
                    backend=binding.backend,
                    implementation=binding.implementation,
                )
            self._bound[spec.name] = _Bound(spec, binding, store)
        if missing:
            raise MissingSecretError(
                f"required secret{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} {'have' if len(missing) > 1 else 'has'} no value",
                where=str(self.settings.project_dir / ".env"),
                fix="set "
                + ", ".join(f"{n}=..." for n in missing)
                + " in the environment or in .env in the project directory",
            )
        for spec in self.blueprint.resources:
            if (
                spec.kind == "function"
                and spec.subscribes is not None
                and spec.subscribes not in self._unreached
            ):
                topic = self.client_named(spec.subscribes)
                assert isinstance(topic, TopicClient)
                self._subscriptions[spec.name] = (spec, await topic.subscribe(spec.name))

    async def _stop(self) -> None:
        for _, subscription in self._subscriptions.values():
            await subscription.close()
        for bound in reversed(list(self._bound.values())):
            await bound.store.close()
        for provider in reversed(list(self._providers.values())):
            await provider.close()
        self._bound.clear()
        self._providers.clear()
        self._subscriptions.clear()

    # -- clients -------------------------------------------------------------------

    @overload
    def client(self, resource: type[Map[K, V]]) -> MapClient[K, V]: ...
    @overload
    def client(self, resource: type[Collection[M]]) -> CollectionClient[M]: ...
    @overload
    def client(self, resource: type[BlobStore]) -> BlobClient: ...
    @overload
    def client(self, resource: type[Queue[T]]) -> QueueClient[T]: ...
    @overload
    def client(self, resource: type[Topic[T]]) -> TopicClient[T]: ...
    def client(self, resource: type[Resource]) -> AnyClient:
        """The typed client bound to the declared class ``resource``."""
        cached = self._clients.get(resource)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        name = self._name_of(resource)
        client = self._named.get(name) or self._build(self._bound_named(name), resource)
        self._named[name] = client
        self._clients[resource] = client
        return client

    @overload
    async def native(self, resource: type[Resource]) -> Native[object]: ...
    @overload
    async def native(self, resource: type[R], backend: Backend[C, R]) -> Native[C]: ...
    async def native(
        self, resource: type[Resource], backend: Backend[Any, Any] | None = None
    ) -> Native[Any]:
        """The client behind ``resource`` and its physical names (:mod:`skaal.native`).

        With a ``backend`` marker, a resource bound elsewhere is a
        :class:`~skaal.runtime.errors.WrongBackendError`.
        """
        bound = self._bound_named(self._name_of(resource))
        if backend is not None:
            _check_marker(bound, backend)
        native: Native[Any] = await bound.store.native()
        return native

    def _name_of(self, resource: type[Resource]) -> str:
        name = self._by_object.get(id(resource)) or self._by_ref.get(object_ref(resource))
        if name is None:
            raise NotBoundError(
                f"{resource.__qualname__} is not a resource of app {self.blueprint.app!r}",
                fix="declare it with @app.storage/blob/queue/topic, then re-plan",
                command="skaal plan",
            )
        return name

    def client_named(self, name: str) -> AnyClient:
        """The client of the resource called ``name`` (e.g. ``"billing.Invoices"``)."""
        client = self._named.get(name)
        if client is None:
            bound = self._bound_named(name)
            cls = self._objects.get((name, bound.spec.kind)) or _import(bound.spec, quiet=True)
            if not isinstance(cls, type):
                cls = _stand_in(bound.spec)
            client = self._build(bound, cls)
            self._named[name] = client
        return client

    def store_named(self, name: str) -> Any:
        """The encoded store (a port of :mod:`skaal.runtime.ports`) serving resource ``name``."""
        return self._bound_named(name).store

    def binding(self, name: str) -> Binding:
        """The plan binding the runtime used for resource ``name``."""
        return self._bound_named(name).binding

    def secret(self, name: str) -> str | None:
        """The value of a declared secret (``None`` if optional and unset)."""
        declared = any(s.kind == "secret" and s.name == name for s in self.blueprint.resources)
        if name not in self._secrets and declared:
            raise NotBoundError(
                f"secret {name!r} is not readable by this process: only the functions that "
                "declare it may read it (SKAAL_READABLE_SECRETS)",
                where=name,
                fix=f"add it to the function's declaration: secrets=[Secret({name!r})], "
                "then rebuild and redeploy",
                command="skaal build",
            )
        if name not in self._secrets:
            raise NotBoundError(
                f"secret {name!r} is not declared by app {self.blueprint.app!r}",
                fix=f"declare it: app.secret({name!r})",
            )
        return self._secrets[name]

    def consumers(self) -> tuple[Consumer, ...]:
        """Every declared queue consumer whose queue this process opens, with its handler."""
        out = []
        for spec in self.blueprint.resources:
            if (
                spec.kind == "function"
                and spec.consumes is not None
                and spec.consumes not in self._unreached
            ):
                queue = self.client_named(spec.consumes)
                assert isinstance(queue, QueueClient)
                out.append(Consumer(spec, self._handler(spec), queue))
        return tuple(out)

    def subscribers(self) -> tuple[Subscriber, ...]:
        """Every declared topic subscriber with its handler and subscription."""
        return tuple(
            Subscriber(spec, self._handler(spec), subscription)
            for spec, subscription in self._subscriptions.values()
        )

    def _handler(self, spec: ResourceSpec) -> Callable[..., Any]:
        handler = self._objects.get((spec.name, "function")) or _import(spec)
        assert callable(handler)
        return handler

    def _bound_named(self, name: str) -> _Bound:
        bound = self._bound.get(name)
        if bound is None and name in self._unreached:
            function = self.settings.env.get("SKAAL_FUNCTION", "this process")
            raise NotBoundError(
                f"resource {name!r} is not opened by {function}: a deployed function "
                "reaches only the resources its code uses (SKAAL_USED_RESOURCES), "
                "and Skaal did not find this use when it read the code",
                where=name,
                fix=f"use {name} from the function itself or from a helper in the same "
                "module (Skaal reads those), then rebuild and redeploy",
                command="skaal build",
            )
        if bound is None:
            raise NotBoundError(
                f"resource {name!r} is not bound in this runtime"
                + ("" if self._providers else " (the runtime is closed)"),
                fix="declare it on the app and re-plan",
                command="skaal plan",
            )
        return bound

    def _build(self, bound: _Bound, cls: type) -> AnyClient:
        spec, store = bound.spec, bound.store
        name = spec.name
        match spec.kind:
            case "map":
                key_tp, value_tp = type_arguments(cls, Map)
                return MapClient(
                    store,
                    resource=name,
                    keys=KeyCodec(key_tp, resource=name),
                    values=ValueCodec(value_tp, resource=name),
                    default_ttl=spec.requirements.ttl_s,
                )
            case "collection":
                (model,) = type_arguments(cls, Collection)
                return CollectionClient(
                    store,
                    resource=name,
                    model=model,
                    key_field=spec.key_field or "id",
                    indexes=spec.indexes,
                    default_ttl=spec.requirements.ttl_s,
                )
            case "blob":
                return BlobClient(store, resource=name)
            case "queue":
                (message,) = type_arguments(cls, Queue)
                policy = self._retry
                if spec.requirements.max_attempts is not None:
                    policy = RetryPolicy(
                        max_attempts=spec.requirements.max_attempts,
                        base_delay=policy.base_delay,
                        max_delay=policy.max_delay,
                        visibility_timeout=policy.visibility_timeout,
                    )
                return QueueClient(
                    store,
                    resource=name,
                    values=ValueCodec(message, resource=name),
                    policy=policy,
                )
            case "topic":
                (message,) = type_arguments(cls, Topic)
                return TopicClient(store, resource=name, values=ValueCodec(message, resource=name))
            case _:
                raise NotBoundError(f"{name} is a {spec.kind}, which has no data client")


def _provider_groups(
    plan: Plan, specs: list[ResourceSpec], wired: tuple[ServerWiring, ...] | None = None
) -> dict[str, tuple[str, ServerWiring | None, list[ResourceSpec]]]:
    """The resources each provider serves, keyed by implementation (``redis:<server>`` for servers).

    An implementation the plan uses in several regions gets one provider per
    region (``dynamodb@eu-west-1``): each provider's clients talk to the
    region of its resources (``BackendSettings.region``), so a table planned in
    eu-west-1 is reached there from a function running in us-east-1.
    Members keep the Blueprint's order, so the first one names the provider in errors.
    ``wired``: the servers as the whole plan names them (its moves' origins too);
    ``plan``'s own by default.
    """
    bindings = {b.resource: b for b in plan.bindings}
    by_id = {(s.implementation, s.id): s for s in (servers(plan) if wired is None else wired)}
    server_of = {
        b.resource: by_id[(b.implementation, ident)]
        for b in bindings.values()
        if (ident := server_id(b)) is not None
    }
    regions: dict[str, set[str]] = {}
    for spec in specs:
        binding = bindings[spec.name]
        regions.setdefault(binding.implementation, set()).add(binding.region)
    groups: dict[str, tuple[str, ServerWiring | None, list[ResourceSpec]]] = {}
    for spec in specs:
        binding = bindings[spec.name]
        impl = binding.implementation
        server = server_of.get(spec.name)
        key = impl if server is None else f"{impl}:{server.id}"
        if server is None and len(regions[impl]) > 1:
            key = f"{impl}@{binding.region}"
        groups.setdefault(key, (impl, server, []))[2].append(spec)
    return groups


def _used_resources(env: Mapping[str, str], blueprint: Blueprint) -> frozenset[str] | None:
    value = env.get(USED_RESOURCES_ENV)
    if value is None or not is_compact(value):
        return used_resources(env)
    function = env.get(FUNCTION_ENV, "")
    found = compact_used(value, function, blueprint)
    if found is None:
        raise InvalidSettingError(
            f"{USED_RESOURCES_ENV}={USES_OWN} opens the uses of {FUNCTION_ENV}={function!r}, "
            "which is not a function of this app",
            where=FUNCTION_ENV,
            fix="deploy the build made from this app's code again",
            command="skaal deploy",
        )
    return found


def _readable_secrets(env: Mapping[str, str]) -> frozenset[str] | None:
    return readable_secrets(env)


def _server_env(env: Mapping[str, str], server: ServerWiring, plan: Plan) -> Mapping[str, str]:
    """``env`` as ``server``'s provider reads it: its own variables in the plain ones.

    The connection variable and its credentials ARN (``..._SECRET_ARN``), and
    the pool size: this process's share of the server's connections in the
    plan (:func:`skaal.plan.wiring.pool_size`, ``SKAAL_PROCESSES`` processes),
    unless the pool variable is already set.
    """
    connection = DEFAULT_REGISTRY.connection(server.implementation)
    assert connection is not None  # a server's implementation has connection variables
    plain, pool = connection.url, connection.pool_size
    instance = next((i for i in plan.instances if i.id == server.id), None)
    extra: dict[str, str] = {}
    if instance is not None and instance.connections is not None and not env.get(pool):
        processes = env.get(PROCESSES_ENV, "1")
        share = pool_size(
            instance.connections, int(processes) if processes.isdigit() else 1, default=0
        )
        extra[pool] = str(share)
    # Only a server with replicas reads from them: another server never inherits the
    # plain read variables of the first.
    env = {k: v for k, v in env.items() if k not in (connection.read_url, connection.replicas)}
    if server.read_env:
        extra.update(_replica_env(env, server, connection.read_url, connection.replicas))
    if server.primary:
        return {**env, **extra} if extra else env
    # this server's credentials secret, never the first server's
    env = {k: v for k, v in env.items() if k != credentials_env(plain)}
    secret = env.get(credentials_env(server.env))
    if secret:
        extra[credentials_env(plain)] = secret
    value = env.get(server.env)
    if not value:
        raise NotBoundError(
            f"{server.env} is not set: the plan puts {', '.join(server.holds)} on "
            f"{server.implementation} server {server.id}, not on the one {plain} names",
            where=f"server {server.id} ({server.backend})",
            fix=f"set {server.env} to the connection URL of that server "
            "(deployments made by skaal build set it from the program's outputs)",
            command="skaal plan --explain " + server.resources[0],
        )
    return {**env, plain: value, **extra}


def _replica_env(
    env: Mapping[str, str], server: ServerWiring, read_url: str, replicas: str
) -> dict[str, str]:
    """The read variables of ``server``'s provider: its replicas' URL and how many answer
    there; a clear error when the deployment did not set the URL, rather than reads on
    the primary alone, which the plan did not size for."""
    value = env.get(server.read_env)
    if not value:
        raise NotBoundError(
            f"{server.read_env} is not set: the plan gives {server.implementation} server "
            f"{server.id} {server.replicas} read replica(s) and counts their reads for "
            f"{', '.join(server.holds)}",
            where=f"server {server.id} ({server.backend})",
            fix=f"set {server.read_env} to the URL of that server's read replicas (the "
            "replication group's reader endpoint; deployments made by skaal build set it "
            "from the program's outputs)",
            command="skaal plan --explain " + server.holds[0],
        )
    return {read_url: value, replicas: str(server.replicas)}


def _check_marker(bound: _Bound, backend: object) -> None:
    """A clear error unless ``backend`` is the marker of the implementation ``bound`` is on."""
    spec, binding = bound.spec, bound.binding
    own = marker_of(binding.implementation)
    ask = f"native(skaal.native.{own.constant})" if own else "native() without a marker"
    if not isinstance(backend, Backend):
        raise ValueTypeError(
            f"{spec.name}.native() takes a backend marker, not {backend!r}",
            where=str(spec.location),
            fix=f"pass a marker from skaal.native: {ask} for the client it is bound to",
        )
    if backend.implementation != binding.implementation:
        record = DEFAULT_REGISTRY.implementations.get(backend.implementation)
        pin = (
            f"pin it to a {backend.implementation} backend (backend=... in its declaration) "
            "and re-plan"
            if record is not None and spec.kind in record.kinds
            else f"{backend.implementation} serves no {spec.kind}"
        )
        raise WrongBackendError(
            f"{spec.name} is bound to {binding.implementation} (backend {binding.backend!r} "
            f"in the plan), so native({backend!r}) has no {backend.implementation} client "
            "to hand out",
            where=str(spec.location),
            fix=f"ask for the client it has with {ask}; or {pin}",
            command=f"skaal plan --explain {spec.name}",
        )


def _store(provider: Provider, spec: ResourceSpec) -> Any:
    match spec.kind:
        case "map":
            return provider.key_value(spec)
        case "collection":
            return provider.documents(spec)
        case "blob":
            return provider.blobs(spec)
        case "queue":
            return provider.queue(spec)
        case "topic":
            return provider.topic(spec)
        case _:
            raise NotBoundError(f"{spec.name} is a {spec.kind}, which has no store")


_BUILTIN_KEYS: dict[str | None, type] = {"str": str, "int": int, "bytes": bytes}


def _stand_in(spec: ResourceSpec) -> type:
    """A class typed from the Blueprint alone, when the user's class cannot be imported.

    Keys keep their canonical encoding (``str``/``int``/``bytes``); values are
    untyped JSON.  Collections need their model, so they still fail.
    """
    base: object
    match spec.kind:
        case "map":
            base = Map[_BUILTIN_KEYS.get(spec.key_type, Any), Any]  # type: ignore[misc]
        case "queue":
            base = Queue[Any]
        case "topic":
            base = Topic[Any]
        case "blob":
            base = BlobStore
        case _:
            _import(spec)
            raise AssertionError("unreachable")
    return types.new_class(spec.name.replace(".", "_"), (base,))


def _import(spec: ResourceSpec, *, quiet: bool = False) -> object:
    """The user's object named by ``spec.python_ref`` (``module:qualname``)."""
    ref = spec.python_ref or ""
    module_name, _, qualname = ref.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        if quiet:
            return None
        raise NotBoundError(
            f"cannot import {ref!r} for {spec.name}",
            where=str(spec.location),
            fix="open the runtime with the App object rather than its Blueprint",
        ) from None
    return obj
