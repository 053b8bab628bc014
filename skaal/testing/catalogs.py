"""Build catalogs in code for tests: ``catalog(provider="aws", backends=[backend("kv")])``.

Tests of the solver, the builders and the CLI need small catalogs with exactly
the figures that matter to them.  :func:`backend` takes every figure as a
keyword with a permissive default (durable, strongly consistent, 99.99%
available, no limits, free), so a test states only what it is about::

    from skaal.testing import backend, catalog, instance_class, mode

    cat = catalog(
        provider="aws",
        backends=[
            backend("dynamodb", kinds=("map", "collection"), read_latency_ms=10,
                    modes=[mode("on-demand", per_gb_month=0.25, per_million_reads=0.125),
                           mode("provisioned", target_utilisation=0.7, per_gb_month=0.25,
                                per_read_per_s_month=0.0949)]),
            backend("redis", kinds=("map",), durability="ephemeral", quota=300,
                    classes=[instance_class("small", price=11.68, size_gb=0.4),
                             instance_class("large", price=159.5, size_gb=9.8)]),
            backend("postgres", kinds=("map",), fixed_monthly=12.0,
                    shared={"size_gb": 100.0, "max_instances": 4}),
        ],
    )

A **server** backend is given either by ``classes`` (with ``quota`` and
``min_disk_gb``), or, as in schema-1 catalogs, by ``shared`` (the capacity of
one instance, with ``max_instances``) and ``fixed_monthly`` (its fee): that
becomes one class named ``"standard"`` priced ``fixed_monthly`` (0.0 when
absent), with ``quota = max_instances`` unless ``quota`` is given.  A
backend with ``modes`` takes its ``price`` from the first mode.

Two figures are filled in by :func:`catalog`, because they depend on it:

* ``implementation`` — unless given, the backend's name when the default
  registry knows it, else the first registered implementation that serves
  every kind of the backend on the catalog's provider (so an invented name
  such as ``"kv"`` still plans against :data:`~skaal.registry.DEFAULT_REGISTRY`);
* ``regions`` and the price regions (the backend's and its modes') — unless
  given, the catalog's region.

Prices carry a placeholder source and date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from skaal.blueprint.model import Kind
from skaal.catalog.model import (
    Backend,
    Capacity,
    Catalog,
    IndexFactor,
    InstanceClass,
    Limits,
    Mode,
    Performance,
    Price,
    PriceItem,
    Provider,
    ReadFactor,
    Server,
)
from skaal.model.grammar import Consistency, Durability
from skaal.registry import DEFAULT_REGISTRY, Registry

__all__ = ["backend", "catalog", "instance_class", "mode"]

_SOURCE = "https://example.com/pricing"
_AS_OF = "2026-12-03"
_DEFAULT_REGION = {"local": "local", "aws": "us-east-1", "gcp": "us-central1"}
_AUTO = ""


def _price_item(amount: float | None) -> PriceItem | None:
    return None if amount is None else PriceItem(amount=amount, source=_SOURCE, as_of=_AS_OF)


def instance_class(
    name: str,
    *,
    price: float,
    description: str = "",
    size_gb: float | None = None,
    reads_per_s: float | None = None,
    writes_per_s: float | None = None,
    connections: int | None = None,
    resources: int | None = None,
    max_replicas: int = 0,
    min_replicas: int = 0,
    parameters: Mapping[str, str | int | float] | None = None,
) -> InstanceClass:
    """One instance class of a server backend: its fee per node-month and its capacity."""
    return InstanceClass(
        name=name,
        description=description or f"{name} (test class)",
        price=PriceItem(amount=price, source=_SOURCE, as_of=_AS_OF),
        size_gb=size_gb,
        reads_per_s=reads_per_s,
        writes_per_s=writes_per_s,
        connections=connections,
        resources=resources,
        max_replicas=max_replicas,
        min_replicas=min_replicas,
        parameters=dict(parameters or {}),
    )


def mode(
    name: str,
    *,
    target_utilisation: float | None = None,
    fixed_monthly: float | None = None,
    per_gb_month: float | None = None,
    per_million_reads: float | None = None,
    per_million_writes: float | None = None,
    per_million_requests: float | None = None,
    per_gb_second: float | None = None,
    per_read_per_s_month: float | None = None,
    per_write_per_s_month: float | None = None,
    eventual_reads: float | None = None,
    index_copies: float | None = None,
) -> Mode:
    """One capacity mode of a dedicated backend, with its complete price.

    ``eventual_reads``: the share of a strong read's price an eventually
    consistent read costs (the price's ``eventual_reads`` factor).
    ``index_copies``: the share of another copy of the table each secondary
    index of a collection is billed (the price's ``index_copies`` factor).
    """
    return Mode(
        name=name,
        description=f"{name} (test mode)",
        target_utilisation=target_utilisation,
        price=_price(
            fixed_monthly=fixed_monthly,
            per_gb_month=per_gb_month,
            per_million_reads=per_million_reads,
            per_million_writes=per_million_writes,
            per_million_requests=per_million_requests,
            per_gb_second=per_gb_second,
            per_read_per_s_month=per_read_per_s_month,
            per_write_per_s_month=per_write_per_s_month,
            eventual_reads=eventual_reads,
            index_copies=index_copies,
        ),
    )


def backend(
    name: str,
    *,
    kinds: Iterable[Kind] = ("map",),
    implementation: str | None = None,
    read_latency_ms: float | None = None,
    write_latency_ms: float | None = None,
    durability: Durability = "durable",
    consistency: Iterable[Consistency] = ("eventual", "strong"),
    availability: float = 99.99,
    regions: Iterable[str] = (),
    capabilities: Iterable[str] = (),
    limits: Limits | Mapping[str, float] | None = None,
    shared: Capacity | Mapping[str, float] | None = None,
    classes: Iterable[InstanceClass] = (),
    quota: int | None = None,
    min_disk_gb: float = 0.0,
    modes: Iterable[Mode] = (),
    fixed_monthly: float | None = None,
    per_gb_month: float | None = None,
    per_million_reads: float | None = None,
    per_million_writes: float | None = None,
    per_million_requests: float | None = None,
    per_gb_second: float | None = None,
    eventual_reads: float | None = None,
    index_copies: float | None = None,
) -> Backend:
    """One catalog backend; ``limits`` / ``shared`` take the model or its fields as a dict.

    ``eventual_reads`` is the share of a strong read's price an eventually
    consistent read costs, ``index_copies`` the share of another copy of the
    table each secondary index is billed (with ``modes``, give them in each mode).

    ``classes`` (with ``quota``, default 1,000, and ``min_disk_gb``) make a
    server backend; so do ``shared`` + ``fixed_monthly`` (one class
    ``"standard"``, see the module docstring).  ``modes`` give a dedicated
    backend capacity modes.  Contradictory options raise ``ValueError``.
    """
    server = _server(
        name, shared, tuple(classes), quota=quota, min_disk_gb=min_disk_gb, fee=fixed_monthly
    )
    mode_list = tuple(modes)
    if mode_list and server is not None:
        raise ValueError(f"backend({name!r}): a server backend has no capacity modes")
    price = _price(
        fixed_monthly=None if server is not None else fixed_monthly,
        per_gb_month=per_gb_month,
        per_million_reads=per_million_reads,
        per_million_writes=per_million_writes,
        per_million_requests=per_million_requests,
        per_gb_second=per_gb_second,
        eventual_reads=eventual_reads,
        index_copies=index_copies,
    )
    if mode_list:
        if price.items() or eventual_reads is not None or index_copies is not None:
            raise ValueError(f"backend({name!r}): with modes, give the prices in the modes")
        price = mode_list[0].price
    return Backend(
        name=name,
        description=f"{name} (test backend)",
        kinds=tuple(kinds),
        implementation=_AUTO if implementation is None else implementation,
        performance=Performance(
            read_latency_ms=read_latency_ms,
            write_latency_ms=write_latency_ms,
            durability=durability,
            consistency=tuple(consistency),
            availability=availability,
        ),
        limits=Limits.model_validate(limits or {}) if not isinstance(limits, Limits) else limits,
        regions=tuple(regions),
        capabilities=tuple(capabilities),
        server=server,
        modes=mode_list,
        price=price,
    )


def _price(
    *,
    eventual_reads: float | None = None,
    index_copies: float | None = None,
    **components: float | None,
) -> Price:
    price = Price(
        region=_AUTO,
        eventual_reads=None
        if eventual_reads is None
        else ReadFactor(factor=eventual_reads, source=_SOURCE, as_of=_AS_OF),
        index_copies=None
        if index_copies is None
        else IndexFactor(factor=index_copies, source=_SOURCE, as_of=_AS_OF),
    )
    items = {k: _price_item(v) for k, v in components.items() if v is not None}
    return price.model_copy(update=items)


def _server(
    name: str,
    shared: Capacity | Mapping[str, float] | None,
    classes: tuple[InstanceClass, ...],
    *,
    quota: int | None,
    min_disk_gb: float,
    fee: float | None,
) -> Server | None:
    """The server of a backend given by ``classes``, or by schema 1's ``shared`` + fee."""
    if shared is not None and classes:
        raise ValueError(f"backend({name!r}): give classes= or shared=, not both")
    if classes:
        if fee is not None:
            raise ValueError(
                f"backend({name!r}): a server's fee belongs to its classes, not fixed_monthly="
            )
        return Server(
            classes=classes, quota=1000 if quota is None else quota, min_disk_gb=min_disk_gb
        )
    if shared is None:
        if quota is not None or min_disk_gb:
            raise ValueError(f"backend({name!r}): quota= and min_disk_gb= need classes=")
        return None
    capacity = Capacity.model_validate(shared) if isinstance(shared, Mapping) else shared
    standard = InstanceClass(
        name="standard",
        description=f"{name} (one instance size)",
        price=PriceItem(amount=fee or 0.0, source=_SOURCE, as_of=_AS_OF),
        size_gb=capacity.size_gb,
        reads_per_s=capacity.reads_per_s,
        writes_per_s=capacity.writes_per_s,
        resources=capacity.resources,
    )
    return Server(
        classes=(standard,),
        quota=capacity.max_instances if quota is None else quota,
        min_disk_gb=min_disk_gb,
    )


def catalog(
    *,
    provider: Provider = "aws",
    backends: Iterable[Backend] = (),
    name: str | None = None,
    region: str | None = None,
    registry: Registry = DEFAULT_REGISTRY,
) -> Catalog:
    """A resolved catalog; fills in each backend's implementation and regions (see above)."""
    if provider not in _DEFAULT_REGION:
        raise ValueError(f"provider must be one of {', '.join(_DEFAULT_REGION)}, not {provider!r}")
    home = region or _DEFAULT_REGION[provider]
    resolved = [_resolve(b, provider, home, registry) for b in backends]
    return Catalog.model_validate(
        {
            "schema_version": 2,
            "name": name or provider,
            "provider": provider,
            "description": f"{name or provider} (test catalog)",
            "region": home,
            "backends": tuple(resolved),
        }
    )


def _resolve(b: Backend, provider: Provider, region: str, registry: Registry) -> Backend:
    update: dict[str, object] = {}
    if b.implementation == _AUTO:
        update["implementation"] = _implementation(b, provider, registry)
    if not b.regions:
        update["regions"] = (region,)
    if b.price.region == _AUTO:
        update["price"] = b.price.model_copy(update={"region": region})
    if any(m.price.region == _AUTO for m in b.modes):
        update["modes"] = tuple(
            m.model_copy(update={"price": m.price.model_copy(update={"region": region})})
            if m.price.region == _AUTO
            else m
            for m in b.modes
        )
    return b.model_copy(update=update)


def _implementation(b: Backend, provider: Provider, registry: Registry) -> str:
    def fits(impl: str) -> bool:
        return all(registry.check(impl, kind, provider) is None for kind in b.kinds)

    if fits(b.name):
        return b.name
    for impl in registry.names():
        if fits(impl):
            return impl
    raise ValueError(
        f"no registered implementation serves {', '.join(b.kinds)} on {provider}; "
        f"pass implementation= to backend({b.name!r})"
    )
