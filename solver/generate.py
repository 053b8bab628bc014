"""Seeded synthetic catalogs and apps for the planner's benchmark and optimality tests.

Everything here is a pure function of its arguments (a ``random.Random(seed)``
is the only source of variety), so a test or a benchmark row names its
instance by ``(seed, knobs)`` and anyone can rebuild it.

Catalog (:func:`generate_catalog`)
    About twenty ``aws``-provider backends whose implementations all pass the
    default registry: dedicated pay-per-use backends (key-value, document,
    object, queue, topic, function, secret) with seeded latencies, durability
    and prices, some with a per-resource fixed fee; and shared backends
    (``redis-*``, ``pg-*``) with a fixed monthly fee per instance, a capacity
    per instance (size, reads, writes, resource count) and ``max_instances``.
    Every shared backend lives in exactly one region, so "an instance" is never
    ambiguous about where it runs.  Each kind has a "workhorse" dedicated
    backend offered in every region, durable and unlimited, so a generated
    resource always has at least one feasible option unless a knob (budget,
    ``max_backends``, co-location) makes the whole app infeasible on purpose.

App (:func:`generate_drafts`)
    ``n`` resource drafts: a kind, the decorator keyword arguments a user
    would write (``read_latency="< 5ms"``, ``size="0.8GB"`` ...), and an
    optional ``collocate_with`` peer.  A ``coupling`` fraction of them are
    *coupled*: they accept non-durable storage, so shared backends are among
    their cheapest options and the optimiser must decide how many instances
    to pay for.  The others declare ``durability="durable"``, which no shared
    backend offers, so they are independent.  ``collocations`` disjoint pairs
    of same-kind data resources are tied together.

Apps as users write them (:func:`user_app`)
    ``n`` maps, collections, blobs and queues, each drafted the way a user
    describes the job it does (a cache, a fast store, a record store, a
    work queue): sizes 0.1-500 GB and traffic 0-20,000/s, some figures left
    to the defaults, some co-located pairs, and now and then a budget or a
    cap on backends.  Meant for the bundled catalogs: the optimality test
    plans them on ``aws``, ``gcp`` and ``local-servers`` and compares the
    planner with :mod:`solver.oracle`.

Three ways to turn drafts into something the planner reads, all giving the
same solver-relevant content (``Blueprint.canonical_json``):

* :func:`declare_app` declares every draft on a real :class:`~skaal.App`
  (classes made with ``types.new_class``, e.g. ``Map[str, int]``
  subclasses), exercising the declaration layer.  ``App`` checks each new
  declaration against every earlier one, so this is quadratic in ``n``: fine
  up to a few thousand resources.
* :func:`build_blueprint` builds ``ResourceSpec`` records directly, still
  parsing every value with the declaration grammar
  (:func:`~skaal.declare.constraints.build_requirements`); this is what the
  benchmark uses at ``n = 10,000``.
* :func:`app_source` writes the app as Python source, for timing the CLI.
"""

from __future__ import annotations

import math
import random
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w
from pydantic import BaseModel

from skaal.blueprint.model import Blueprint, Kind, ResourceSpec, SourceLocation
from skaal.catalog.model import (
    Backend,
    Capacity,
    Catalog,
    InstanceClass,
    Limits,
    Performance,
    Price,
    PriceItem,
    Server,
)
from skaal.declare.app import App
from skaal.declare.constraints import build_requirements
from skaal.declare.resources import BlobStore, Collection, Map, Queue, Topic, type_name

__all__ = [
    "GENERATED_MODULE",
    "Doc",
    "ResourceDraft",
    "UserApp",
    "app_source",
    "build_blueprint",
    "catalog_toml",
    "declare_app",
    "generate_catalog",
    "generate_drafts",
    "user_app",
    "with_limits",
]

#: ``__module__`` given to every generated class and function.
GENERATED_MODULE = "solver.generated"

_SOURCE = "https://example.com/synthetic-pricing"
_AS_OF = "2026-11-22"
_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1")
_DECORATOR: dict[Kind, str] = {
    "map": "storage",
    "collection": "storage",
    "blob": "blob",
    "queue": "queue",
    "topic": "topic",
    "function": "function",
}


class Doc(BaseModel):
    """The document model of every generated ``Collection``."""

    id: str


# -- catalog ---------------------------------------------------------------------


def _item(amount: float) -> PriceItem:
    return PriceItem(amount=round(amount, 6), source=_SOURCE, as_of=_AS_OF)


def _price(**amounts: float) -> Price:
    items = {k: _item(v) for k, v in amounts.items()}
    return Price(region="us-east-1", **items)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    kinds: tuple[Kind, ...]
    implementation: str
    regions: tuple[str, ...]
    performance: Performance
    price: Price
    limits: Limits = field(default_factory=Limits)
    capabilities: tuple[str, ...] = ()
    shared: Capacity | None = None

    def backend(self, shared: Capacity | None = None) -> Backend:
        """The backend; a shared one becomes a one-class server (``shared`` overrides)."""
        price = self.price
        if price.region not in self.regions:  # quote prices where the backend runs
            price = price.model_copy(update={"region": self.regions[0]})
        shared = shared or self.shared
        server = None
        if shared is not None:
            assert price.fixed_monthly is not None
            server = Server(
                classes=(
                    InstanceClass(
                        name="standard",
                        price=price.fixed_monthly,
                        size_gb=shared.size_gb,
                        reads_per_s=shared.reads_per_s,
                        writes_per_s=shared.writes_per_s,
                        resources=shared.resources,
                    ),
                ),
                quota=shared.max_instances,
            )
            price = price.model_copy(update={"fixed_monthly": None})
        return Backend(
            name=self.name,
            description=f"synthetic {self.implementation} backend",
            kinds=self.kinds,
            implementation=self.implementation,
            performance=self.performance,
            limits=self.limits,
            regions=self.regions,
            capabilities=self.capabilities,
            server=server,
            price=price,
        )


def _perf(
    rng: random.Random,
    read: tuple[float, float] | None,
    write: tuple[float, float] | None,
    durability: str,
    *,
    strong: bool = True,
    availability: float = 99.9,
) -> Performance:
    return Performance.model_validate(
        {
            "read_latency_ms": None if read is None else round(rng.uniform(*read), 2),
            "write_latency_ms": None if write is None else round(rng.uniform(*write), 2),
            "durability": durability,
            "consistency": ("eventual", "strong") if strong else ("eventual",),
            "availability": availability,
        }
    )


def _some_regions(rng: random.Random) -> tuple[str, ...]:
    picked = {r for r in _REGIONS if rng.random() < 0.6} | {"us-east-1"}
    return tuple(r for r in _REGIONS if r in picked)


def _dedicated(rng: random.Random) -> list[_Spec]:
    u = rng.uniform
    durable = "durable"
    return [
        _Spec("kv-ondemand", ("map", "collection"), "dynamodb", _REGIONS,
              _perf(rng, (8, 12), (12, 18), durable, availability=99.99),
              _price(per_gb_month=u(0.22, 0.28), per_million_reads=u(0.11, 0.14),
                     per_million_writes=u(0.55, 0.7)),
              capabilities=("ttl", "secondary_index", "atomic_ops", "transactions")),
        _Spec("kv-ia", ("map", "collection"), "dynamodb", _some_regions(rng),
              _perf(rng, (12, 20), (15, 25), durable, availability=99.99),
              _price(per_gb_month=u(0.08, 0.12), per_million_reads=u(0.14, 0.2),
                     per_million_writes=u(0.7, 0.9))),
        _Spec("kv-provisioned", ("map",), "dynamodb", _some_regions(rng),
              _perf(rng, (6, 9), (8, 12), durable, availability=99.99),
              _price(fixed_monthly=u(4, 12), per_gb_month=u(0.2, 0.3),
                     per_million_reads=u(0.02, 0.05), per_million_writes=u(0.1, 0.2))),
        _Spec("kv-fast", ("map", "queue"), "redis", _REGIONS,
              _perf(rng, (0.8, 1.5), (1.5, 3), durable),
              _price(fixed_monthly=u(30, 60), per_gb_month=u(0.8, 1.5)),
              limits=Limits(max_size_gb=100.0)),
        _Spec("doc-serverless", ("map", "collection", "queue"), "postgres", _REGIONS,
              _perf(rng, (3, 4.5), (4, 7), durable),
              _price(fixed_monthly=u(20, 45), per_gb_month=u(0.08, 0.12),
                     per_million_requests=u(0.15, 0.25))),
        _Spec("kv-global", ("map", "collection"), "dynamodb", _REGIONS,
              _perf(rng, (9, 13), (14, 20), durable, availability=99.999),
              _price(per_gb_month=u(0.33, 0.4), per_million_reads=u(0.12, 0.16),
                     per_million_writes=u(0.9, 1.1))),
        _Spec("obj-standard", ("blob",), "s3", _REGIONS,
              _perf(rng, (20, 40), (40, 80), durable, availability=99.99),
              _price(per_gb_month=u(0.021, 0.025), per_million_reads=u(0.35, 0.45),
                     per_million_writes=u(4.5, 5.5))),
        _Spec("obj-ia", ("blob",), "s3", _some_regions(rng),
              _perf(rng, (20, 40), (40, 80), durable),
              _price(per_gb_month=u(0.011, 0.014), per_million_reads=u(0.9, 1.1),
                     per_million_writes=u(9, 11))),
        _Spec("obj-onezone", ("blob",), "s3", _some_regions(rng),
              _perf(rng, (20, 40), (40, 80), "persistent", availability=99.5),
              _price(per_gb_month=u(0.009, 0.011), per_million_reads=u(0.9, 1.1),
                     per_million_writes=u(9, 11))),
        _Spec("queue-std", ("queue",), "sqs", _REGIONS,
              _perf(rng, None, None, durable, strong=False),
              _price(per_million_requests=u(0.35, 0.45)),
              limits=Limits(max_retention_s=14 * 86400.0), capabilities=("dead_letter",)),
        _Spec("queue-fifo", ("queue",), "sqs", _some_regions(rng),
              _perf(rng, None, None, durable, strong=False),
              _price(per_million_requests=u(0.45, 0.55)),
              limits=Limits(max_retention_s=14 * 86400.0),
              capabilities=("dead_letter", "fifo")),
        _Spec("topic-std", ("topic",), "sns", _REGIONS,
              _perf(rng, None, None, durable, strong=False),
              _price(per_million_requests=u(0.45, 0.55)), capabilities=("pubsub",)),
        _Spec("fn-x86", ("function",), "lambda", _REGIONS,
              _perf(rng, None, None, "ephemeral", strong=False),
              _price(per_gb_second=u(1.5e-5, 1.8e-5), per_million_requests=u(0.18, 0.22)),
              limits=Limits(max_memory_gb=10.0, max_timeout_s=900.0), capabilities=("http",)),
        _Spec("fn-arm", ("function",), "lambda", _some_regions(rng),
              _perf(rng, None, None, "ephemeral", strong=False),
              _price(per_gb_second=u(1.2e-5, 1.4e-5), per_million_requests=u(0.18, 0.22)),
              limits=Limits(max_memory_gb=4.0, max_timeout_s=900.0), capabilities=("http",)),
    ]  # fmt: skip


def _shared(rng: random.Random) -> list[_Spec]:
    u, ri = rng.uniform, rng.randint
    return [
        _Spec("redis-small", ("map", "queue", "topic"), "redis", ("us-east-1",),
              _perf(rng, (0.4, 0.8), (0.5, 1.0), "ephemeral"),
              _price(fixed_monthly=u(12, 25)),
              shared=Capacity(size_gb=round(u(0.5, 1.5), 2), reads_per_s=20000.0,
                              writes_per_s=10000.0, resources=ri(20, 60),
                              max_instances=ri(2, 6))),
        _Spec("redis-large", ("map", "queue", "topic"), "redis", ("us-east-1",),
              _perf(rng, (0.5, 1.0), (0.6, 1.2), "persistent"),
              _price(fixed_monthly=u(90, 180)),
              shared=Capacity(size_gb=round(u(6, 13), 2), reads_per_s=100000.0,
                              writes_per_s=50000.0, max_instances=ri(2, 4))),
        _Spec("redis-eu", ("map", "queue", "topic"), "redis", ("eu-west-1",),
              _perf(rng, (0.4, 0.8), (0.5, 1.0), "ephemeral"),
              _price(fixed_monthly=u(14, 28)),
              shared=Capacity(size_gb=round(u(0.5, 1.5), 2), reads_per_s=20000.0,
                              resources=ri(20, 60), max_instances=ri(1, 4))),
        _Spec("pg-small", ("map", "collection", "queue"), "postgres", ("us-east-1",),
              _perf(rng, (2, 4), (4, 8), "persistent"),
              _price(fixed_monthly=u(15, 30), per_gb_month=u(0.0, 0.12)),
              shared=Capacity(size_gb=20.0, reads_per_s=2000.0, writes_per_s=500.0,
                              resources=ri(15, 40), max_instances=ri(3, 8))),
        _Spec("pg-large", ("map", "collection", "queue"), "postgres", ("us-east-1",),
              _perf(rng, (2, 4), (3, 6), "persistent", availability=99.95),
              _price(fixed_monthly=u(120, 250), per_gb_month=u(0.0, 0.12)),
              shared=Capacity(size_gb=200.0, reads_per_s=20000.0, writes_per_s=5000.0,
                              max_instances=ri(1, 3))),
        _Spec("pg-eu", ("map", "collection", "queue"), "postgres", ("eu-central-1",),
              _perf(rng, (2, 4), (4, 8), "persistent"),
              _price(fixed_monthly=u(18, 35), per_gb_month=u(0.0, 0.12)),
              shared=Capacity(size_gb=20.0, reads_per_s=2000.0, writes_per_s=500.0,
                              resources=ri(15, 40), max_instances=ri(1, 4))),
    ]  # fmt: skip


def generate_catalog(seed: int, *, scale: float = 1.0, capacity: float = 1.0) -> Catalog:
    """A catalog of 20 backends (14 dedicated, 6 servers of one class each) with seeded figures.

    ``scale`` multiplies every server's quota (``max_instances``, at least 1),
    so large apps can still place their coupled resources on shared instances.
    ``capacity`` multiplies what one shared instance holds (size, rates and
    resource count), so with a large factor capacity never binds.
    """
    rng = random.Random(f"catalog:{seed}")
    specs = _dedicated(rng) + _shared(rng)
    backends = []
    for spec in specs:
        shared = spec.shared
        if shared is not None and (scale != 1.0 or capacity != 1.0):
            shared = _scaled(shared, scale, capacity)
        backends.append(spec.backend(shared))
    return Catalog(
        schema_version=2,
        name="synthetic",
        provider="aws",
        region="us-east-1",
        description=f"synthetic catalog, seed {seed}",
        backends=tuple(backends),
    )


def _scaled(shared: Capacity, scale: float, capacity: float) -> Capacity:
    """``shared`` with ``max_instances`` times ``scale`` and each capacity times ``capacity``."""
    update: dict[str, float | int] = {
        "max_instances": max(1, math.ceil(shared.max_instances * scale))
    }
    for dimension in ("size_gb", "reads_per_s", "writes_per_s"):
        value = getattr(shared, dimension)
        if value is not None:
            update[dimension] = value * capacity
    if shared.resources is not None:
        update["resources"] = math.ceil(shared.resources * capacity)
    return shared.model_copy(update=update)


# -- app drafts ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResourceDraft:
    """One resource to declare: its name, kind and the decorator's keyword arguments."""

    name: str
    kind: Kind
    kwargs: Mapping[str, object] = field(default_factory=dict)
    coupled: bool = False


def _log_uniform(rng: random.Random, low: float, high: float) -> str:
    """A log-uniform value with three significant digits, never in exponent notation."""
    value = float(f"{math.exp(rng.uniform(math.log(low), math.log(high))):.3g}")
    return f"{value:.10g}"


def _rate(rng: random.Random, low: float, high: float) -> str:
    return f"{_log_uniform(rng, low, high)}/s"


def _size(rng: random.Random, low: float, high: float) -> str:
    return f"{_log_uniform(rng, low, high)}GB"


def _residency(rng: random.Random, share: float) -> dict[str, str]:
    if rng.random() >= share:
        return {}
    return {"residency": rng.choice(("us", "us", "eu", "us-east-1"))}


def _uncoupled(rng: random.Random, name: str, residency: float) -> ResourceDraft:
    kind: Kind = rng.choices(
        ("map", "collection", "blob", "queue", "topic", "function"), (35, 15, 20, 12, 8, 10)
    )[0]
    kw: dict[str, str] = {}
    if kind in ("map", "collection"):
        kw["durability"] = "durable"
        kw["size"] = _size(rng, 0.1, 500)
        kw["reads"] = _rate(rng, 1, 5000)
        kw["writes"] = _rate(rng, 0.5, 1000)
        if rng.random() < 0.5:
            bounds = ("< 15ms", "< 10ms", "< 6ms", "< 2ms")[: 4 if kind == "map" else 3]
            kw["read_latency"] = rng.choice(bounds)
            if kw["read_latency"] == "< 2ms":  # only kv-fast, which holds up to 100 GB
                kw["size"] = _size(rng, 0.1, 90)
        if rng.random() < 0.3:
            kw["consistency"] = "strong"
    elif kind == "blob":
        kw["size"] = _size(rng, 1, 5000)
        kw["reads"] = _rate(rng, 0.1, 500)
        kw["writes"] = _rate(rng, 0.01, 50)
        if rng.random() < 0.5:
            kw["durability"] = rng.choice(("persistent", "durable"))
    elif kind in ("queue", "topic"):
        kw["durability"] = "durable"
        kw["messages"] = _rate(rng, 0.1, 2000)
    else:
        kw["memory"] = rng.choice(("128MB", "512MB", "1GB", "2GB", "6GB"))
        kw["invocations"] = _rate(rng, 0.01, 200)
        kw["timeout"] = rng.choice(("3s", "30s", "60s"))
    kw.update(_residency(rng, residency))
    return ResourceDraft(name, kind, kw, coupled=False)


def _coupled(rng: random.Random, name: str, residency: float) -> ResourceDraft:
    kind: Kind = rng.choices(("map", "collection", "queue", "topic"), (60, 15, 15, 10))[0]
    kw: dict[str, str] = {}
    if kind in ("map", "collection"):
        kw["size"] = _size(rng, 0.005, 1.5)
        kw["reads"] = _rate(rng, 1, 2500)
        kw["writes"] = _rate(rng, 0.5, 400)
        if rng.random() < 0.6:
            kw["durability"] = rng.choice(("ephemeral", "persistent"))
        if rng.random() < 0.5:
            bounds = ("< 5ms", "< 20ms", "< 2ms")[: 3 if kind == "map" else 2]
            kw["read_latency"] = rng.choice(bounds)
    else:
        kw["messages"] = _rate(rng, 0.5, 800)
        if rng.random() < 0.5:
            kw["durability"] = rng.choice(("ephemeral", "persistent"))
    if rng.random() < residency:
        kw["residency"] = rng.choice(("us", "us-east-1", "eu"))
    return ResourceDraft(name, kind, kw, coupled=True)


def generate_drafts(
    n: int,
    seed: int,
    *,
    coupling: float = 0.0,
    collocations: int = 0,
    residency: float = 0.1,
) -> tuple[ResourceDraft, ...]:
    """``n`` seeded resource drafts; see the module docstring for the knobs."""
    rng = random.Random(f"app:{seed}")
    width = max(5, len(str(n)))
    drafts: list[ResourceDraft] = []
    for i in range(n):
        name = f"R{i:0{width}d}"
        if rng.random() < coupling:
            drafts.append(_coupled(rng, name, residency))
        else:
            draft = _uncoupled(rng, name, residency)
            if draft.kind == "function":
                draft = ResourceDraft(f"f{i:0{width}d}", "function", draft.kwargs)
            drafts.append(draft)
    return _tie(rng, drafts, collocations)


def _tie(rng: random.Random, drafts: list[ResourceDraft], pairs: int) -> tuple[ResourceDraft, ...]:
    """Make up to ``pairs`` disjoint same-kind data resources co-located, coupled ones first."""
    by_kind: dict[tuple[Kind, bool], list[int]] = {}
    for i, draft in enumerate(drafts):
        if draft.kind in ("map", "collection", "blob"):
            by_kind.setdefault((draft.kind, draft.coupled), []).append(i)
    pools = [by_kind[key] for key in sorted(by_kind, key=lambda k: (not k[1], k[0]))]
    for pool in pools:
        rng.shuffle(pool)
    made = 0
    for pool in pools:
        while made < pairs and len(pool) >= 2:
            a, b = pool.pop(), pool.pop()
            peer = drafts[b]
            kw = dict(drafts[a].kwargs)
            kw.pop("residency", None)
            if "residency" in peer.kwargs:
                kw["residency"] = peer.kwargs["residency"]
            kw["collocate_with"] = peer.name
            drafts[a] = ResourceDraft(drafts[a].name, drafts[a].kind, kw, drafts[a].coupled)
            made += 1
    return tuple(drafts)


# -- apps as users write them ----------------------------------------------------

#: What users write for a piece of state, by the job it does: (share, read
#: latencies, durabilities, largest size in GB).  A cache asks sub-millisecond
#: reads and accepts losing its data; a fast store asks a few milliseconds; a
#: record store asks what a managed database gives.
_PROFILES: tuple[tuple[int, tuple[str | None, ...], tuple[str | None, ...], float], ...] = (
    (20, ("< 1ms",), ("ephemeral",), 40.0),
    (20, ("< 5ms",), (None, "persistent"), 500.0),
    (60, (None, None, "<= 10ms", "< 20ms", "< 100ms"), (None, "persistent", "durable"), 500.0),
)


@dataclass(frozen=True, slots=True)
class UserApp:
    """A seeded app drawn the way users write them, with its app-level limits."""

    drafts: tuple[ResourceDraft, ...]
    budget: float | None
    max_backends: int | None

    def blueprint(self) -> Blueprint:
        return build_blueprint(self.drafts, budget=self.budget, max_backends=self.max_backends)


def _traffic(rng: random.Random, high: float) -> str:
    """A rate between 0 and ``high`` per second: idle sometimes, else log-uniform."""
    if rng.random() < 0.08:
        return "0/s"
    return _rate(rng, 0.05, high)


def _user_data(rng: random.Random, kind: Kind) -> dict[str, object]:
    kw: dict[str, object] = {}
    if kind == "blob":
        if rng.random() < 0.85:
            kw["size"] = _size(rng, 0.1, 500)
        if rng.random() < 0.85:
            kw["reads"] = _traffic(rng, 2000)
        if rng.random() < 0.85:
            kw["writes"] = _traffic(rng, 200)
        if rng.random() < 0.4:
            kw["durability"] = rng.choice(("persistent", "durable"))
        if rng.random() < 0.1:
            kw["ttl"] = rng.choice(("1d", "30d"))
        return kw
    profiles = _PROFILES[1:] if kind == "collection" else _PROFILES  # no sub-ms documents
    _, latencies, durabilities, largest = rng.choices(profiles, [p[0] for p in profiles])[0]
    if rng.random() < 0.85:
        kw["size"] = _size(rng, 0.1, largest)
    if rng.random() < 0.85:
        kw["reads"] = _traffic(rng, 20000)
    if rng.random() < 0.85:
        kw["writes"] = _traffic(rng, 5000)
    latency, durability = rng.choice(latencies), rng.choice(durabilities)
    if durability == "durable" and latency == "<= 10ms":  # replicated stores answer in ~15 ms
        latency = "< 20ms"
    if latency is not None:
        kw["read_latency"] = latency
    if durability is not None:
        kw["durability"] = durability
    if rng.random() < 0.1:
        kw["write_latency"] = "< 50ms"
    consistency = rng.random()  # one draw for both levels: the rest of the app is unchanged
    if consistency < 0.2:
        kw["consistency"] = "strong"
    elif consistency < 0.45:
        kw["consistency"] = "eventual"  # half-price reads on DynamoDB
    if rng.random() < 0.1:
        kw["ttl"] = rng.choice(("1h", "1d", "30d"))
    if latency != "< 1ms" and rng.random() < 0.1:
        kw["access"] = "prefix"
    if latency is None and rng.random() < 0.2:
        kw["availability"] = rng.choice(("99.9%", "99.95%", "99.99%"))
    return kw


def _user_queue(rng: random.Random) -> dict[str, object]:
    kw: dict[str, object] = {}
    if rng.random() < 0.85:
        kw["messages"] = _traffic(rng, 20000)
    ordered = rng.random() < 0.15
    if rng.random() < 0.4:  # an ordered queue on a managed service is at most persistent on gcp
        kw["durability"] = rng.choice(
            ("ephemeral", "persistent") if ordered else ("ephemeral", "persistent", "durable")
        )
    if ordered:
        kw["ordered"] = True
    if rng.random() < 0.15:
        kw["max_attempts"] = rng.randint(2, 10)
    if rng.random() < 0.1:
        kw["retention"] = rng.choice(("4d", "14d", "30d"))
    return kw


def user_app(n: int, seed: int) -> UserApp:
    """``n`` resources as users write them: maps, collections, blobs and queues.

    Sizes 0.1-500 GB and traffic 0-20,000/s (log-uniform, some idle, some
    left to the defaults), latency, durability, consistency, expiry, prefix
    scans, FIFO and dead-letter queues, an availability or residency now
    and then, a few co-located pairs, and sometimes a budget (log-uniform
    $200-$100,000 a month) or a cap on the number of backends.
    """
    rng = random.Random(f"user-app:{seed}")
    width = max(3, len(str(n)))
    drafts: list[ResourceDraft] = []
    for i in range(n):
        kind: Kind = rng.choices(("map", "collection", "blob", "queue"), (45, 20, 15, 20))[0]
        kw = _user_queue(rng) if kind == "queue" else _user_data(rng, kind)
        if rng.random() < 0.08:
            kw["residency"] = rng.choice(("us", "us", "eu"))
        drafts.append(ResourceDraft(f"{kind.capitalize()}{i:0{width}d}", kind, kw))
    pairs = rng.choice((0, 0, 1, 2, max(1, n // 8)))
    budget = None
    if rng.random() < 0.35:
        budget = float(_log_uniform(rng, 200, 100_000))
    max_backends = rng.randint(2, 5) if rng.random() < 0.15 else None
    return UserApp(_tie(rng, drafts, pairs), budget, max_backends)


def with_limits(
    blueprint: Blueprint, *, budget: float | None = None, max_backends: int | None = None
) -> Blueprint:
    """The same blueprint with an app-level budget and/or backend cap."""
    return blueprint.model_copy(update={"budget_usd_month": budget, "max_backends": max_backends})


# -- three renderings of the drafts ----------------------------------------------


def _class(draft: ResourceDraft) -> type:
    base: Any = {
        "map": Map[str, int],
        "collection": Collection[Doc],
        "blob": BlobStore,
        "queue": Queue[str],
        "topic": Topic[str],
    }[draft.kind]

    def body(ns: dict[str, Any]) -> None:
        ns["__module__"] = GENERATED_MODULE
        ns["__qualname__"] = draft.name

    return types.new_class(draft.name, (base,), {}, body)


def _function(draft: ResourceDraft) -> Callable[[], None]:
    def handler() -> None:
        return None

    handler.__name__ = handler.__qualname__ = draft.name
    handler.__module__ = GENERATED_MODULE
    return handler


def _money(amount: float) -> str:
    return f"${amount!r}/month"


def declare_app(
    drafts: tuple[ResourceDraft, ...],
    *,
    name: str = "synthetic",
    budget: float | None = None,
    max_backends: int | None = None,
) -> App:
    """Declare every draft on a real ``App`` (quadratic in the number of drafts)."""
    limits: dict[str, Any] = {}
    if budget is not None:
        limits["budget"] = _money(budget)
    if max_backends is not None:
        limits["max_backends"] = max_backends
    app = App(name, **limits)
    for draft in drafts:
        decorator = getattr(app, _DECORATOR[draft.kind])
        target: object = _function(draft) if draft.kind == "function" else _class(draft)
        decorator(**draft.kwargs)(target)
    return app


def _types(kind: Kind) -> dict[str, Any]:
    match kind:
        case "map":
            return {"key_type": type_name(str), "value_type": type_name(int)}
        case "collection":
            return {
                "key_type": type_name(str),
                "value_type": type_name(Doc),
                "key_field": "id",
                "indexes": (),
            }
        case "queue" | "topic":
            return {"value_type": type_name(str)}
        case "function":
            return {"http": True}
        case _:
            return {}


def build_blueprint(
    drafts: tuple[ResourceDraft, ...],
    *,
    name: str = "synthetic",
    budget: float | None = None,
    max_backends: int | None = None,
) -> Blueprint:
    """The Blueprint ``declare_app(...).blueprint()`` would give, built in linear time."""
    location = SourceLocation(file=__file__, line=1)
    specs = []
    for draft in drafts:
        requirements = build_requirements(
            draft.kwargs,
            kind=draft.kind,
            subject=draft.name,
            decorator=f"@app.{_DECORATOR[draft.kind]}",
            location=location,
        )
        specs.append(
            ResourceSpec(
                name=draft.name,
                kind=draft.kind,
                requirements=requirements,
                location=location,
                python_ref=f"{GENERATED_MODULE}:{draft.name}",
                **_types(draft.kind),
            )
        )
    return Blueprint(
        app=name,
        resources=tuple(sorted(specs, key=lambda s: (s.name, s.kind))),
        budget_usd_month=budget,
        max_backends=max_backends,
        location=location,
    )


def app_source(
    drafts: tuple[ResourceDraft, ...],
    *,
    name: str = "synthetic",
    budget: float | None = None,
    max_backends: int | None = None,
) -> str:
    """The drafts as a Python module a user could have written (``app`` is the App)."""
    limits = [repr(name)]
    if budget is not None:
        limits.append(f"budget={_money(budget)!r}")
    if max_backends is not None:
        limits.append(f"max_backends={max_backends}")
    lines = [
        '"""A generated app for timing ``skaal plan``."""',
        "",
        "from pydantic import BaseModel",
        "",
        "from skaal import App, BlobStore, Collection, Map, Queue, Topic",
        "",
        f"app = App({', '.join(limits)})",
        "",
        "",
        "class Doc(BaseModel):",
        "    id: str",
        "",
    ]
    bases = {
        "map": "Map[str, int]",
        "collection": "Collection[Doc]",
        "blob": "BlobStore",
        "queue": "Queue[str]",
        "topic": "Topic[str]",
    }
    for draft in drafts:
        args = ", ".join(f"{k}={v!r}" for k, v in draft.kwargs.items())
        lines += ["", f"@app.{_DECORATOR[draft.kind]}({args})"]
        if draft.kind == "function":
            lines.append(f"def {draft.name}() -> None: ...")
        else:
            lines.append(f"class {draft.name}({bases[draft.kind]}): ...")
    return "\n".join(lines) + "\n"


def _set(data: Any) -> Any:
    """``data`` without its ``None`` values (TOML has none), tables and arrays all the way down."""
    if isinstance(data, dict):
        return {k: _set(v) for k, v in data.items() if v is not None}
    if isinstance(data, (list, tuple)):
        return [_set(v) for v in data]
    return data


def catalog_toml(catalog: Catalog) -> str:
    """The catalog in the TOML file format (schema_version 2) the catalog loader reads.

    Instance classes, capacity modes and count quotas are tables named by their ``name``.
    """
    data = _set(catalog.model_dump(mode="json", exclude={"sources", "backends"}))
    data["schema_version"] = 2
    backends: dict[str, Any] = {}
    for backend in catalog.backends:
        table = _set(backend.model_dump(mode="json", exclude={"name"}))
        if table.get("server"):
            table["server"]["classes"] = {
                item.pop("name"): item for item in table["server"]["classes"]
            }
        for named in ("modes", "counts"):
            if table.get(named):
                table[named] = {item.pop("name"): item for item in table[named]}
            else:
                table.pop(named, None)
        backends[backend.name] = table
    data["backends"] = backends
    return tomli_w.dumps(data)
