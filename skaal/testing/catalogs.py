"""Build catalogs in code for tests: ``catalog(provider="aws", backends=[backend("kv")])``.

Tests of the solver, the builders and the CLI need small catalogs with exactly
the figures that matter to them.  :func:`backend` takes every figure as a
keyword with a permissive default (durable, strongly consistent, 99.99%
available, no limits, free), so a test states only what it is about::

    from skaal.testing import backend, catalog

    cat = catalog(
        provider="aws",
        backends=[
            backend("dynamodb", kinds=("map", "collection"), read_latency_ms=10,
                    per_gb_month=0.25, per_million_reads=0.125),
            backend("redis", kinds=("map",), durability="ephemeral",
                    fixed_monthly=12.0, shared={"size_gb": 0.5}),
        ],
    )

Two figures are filled in by :func:`catalog`, because they depend on it:

* ``implementation`` — unless given, the backend's name when the default
  registry knows it, else the first registered implementation that serves
  every kind of the backend on the catalog's provider (so an invented name
  such as ``"kv"`` still plans against :data:`~skaal.registry.DEFAULT_REGISTRY`);
* ``regions`` and the price region — unless given, the catalog's region.

Prices carry a placeholder source and date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from skaal.blueprint.model import Kind
from skaal.catalog.model import (
    Backend,
    Capacity,
    Catalog,
    Limits,
    Performance,
    Price,
    PriceItem,
    Provider,
)
from skaal.declare.grammar import Consistency, Durability
from skaal.registry import DEFAULT_REGISTRY, Registry

__all__ = ["backend", "catalog"]

_SOURCE = "https://example.com/pricing"
_AS_OF = "2026-11-22"
_DEFAULT_REGION = {"local": "local", "aws": "us-east-1", "gcp": "us-central1"}
_AUTO = ""


def _price_item(amount: float | None) -> PriceItem | None:
    return None if amount is None else PriceItem(amount=amount, source=_SOURCE, as_of=_AS_OF)


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
    fixed_monthly: float | None = None,
    per_gb_month: float | None = None,
    per_million_reads: float | None = None,
    per_million_writes: float | None = None,
    per_million_requests: float | None = None,
    per_gb_second: float | None = None,
) -> Backend:
    """One catalog backend; ``limits`` / ``shared`` take the model or its fields as a dict."""
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
        shared=Capacity.model_validate(shared) if isinstance(shared, Mapping) else shared,
        price=Price(
            region=_AUTO,
            fixed_monthly=_price_item(fixed_monthly),
            per_gb_month=_price_item(per_gb_month),
            per_million_reads=_price_item(per_million_reads),
            per_million_writes=_price_item(per_million_writes),
            per_million_requests=_price_item(per_million_requests),
            per_gb_second=_price_item(per_gb_second),
        ),
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
            "schema_version": 1,
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
