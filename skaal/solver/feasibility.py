"""The feasibility filter: which backends can serve each resource, and why the others cannot.

:func:`build_problem` compares every resource with every catalog backend in
plain Python, before any optimisation, and keeps the survivors with their
monthly cost (:mod:`skaal.solver.cost`).  Every failed check of every backend
is recorded as a :class:`~skaal.solver.problem.Rejection`, not just the first,
so an unsatisfiable report lists everything that stands in the way.

Rules (a backend serves a resource when all hold; checks live in
:mod:`skaal.solver.checks`):

==================  ===========================================================
check               the backend must...
==================  ===========================================================
kind                serve the resource's kind (when it does not, that is its
                    only rejection: its other figures describe another thing)
implementation      name an implementation the registry can run and build for
                    this kind on the catalog's provider
existing            hold what ``existing=`` adopts (its implementation; an ARN's
                    region, where the binding is placed, must be one of the
                    backend's and within a declared residency); not checked
                    on the ``local`` provider, and an ARN or URL of another
                    provider than the catalog's is a
                    :class:`~skaal.errors.PlanError`
                    ``existing`` given to :func:`build_problem` (the
                    configuration's, :mod:`skaal.envs.existing`) replaces a
                    resource's ``existing=`` for this problem only: the
                    Blueprint is not changed
pin                 be the pinned backend, if ``backend=`` or ``--pin`` names
                    one (the command line wins); a pin naming a backend the
                    catalog lacks is a :class:`~skaal.errors.PlanError`
read/write_latency  publish a latency the bound admits (``<`` is strict); no
                    published figure cannot promise anything
durability          offer at least the asked level (ephemeral < persistent <
                    durable); **undeclared means persistent** for maps,
                    collections, blobs and queues: losing data on a
                    restart must be asked for with ``durability="ephemeral"``;
                    an undeclared topic accepts any level (it fans out to the
                    subscribers present)
consistency         offer ``strong`` when strong is asked (strong satisfies
                    eventual: declared ``eventual`` accepts any backend)
availability        publish at least the asked percentage
residency           have a region matching it (``region_matches``)
ttl                 have the ``ttl`` capability and ``limits.max_ttl_s`` ≥ ttl
retention           ``limits.max_retention_s`` ≥ retention
access="prefix"     have ``ordered_keys``
Index fields        have ``secondary_index`` (collections)
ordered=True        have ``fifo`` (queues)
max_attempts        have ``dead_letter`` (queues)
schedule / http     have ``schedule`` / ``http`` (functions)
trigger             for a queue with a consumer or a topic with a subscriber:
                    be an implementation that can start *every* backend the
                    consuming function may land on (``Registry.triggers``: an
                    AWS Lambda is started by SQS or SNS only; local and Cloud
                    Run consumers poll anything)
size, rates,        stay within ``limits.*`` per resource (workload defaults
memory, timeout     apply: see :mod:`skaal.solver.cost`), and for a shared
                    backend within ONE instance's ``shared`` capacity
==================  ===========================================================

On the ``local`` provider availability and residency are not applicable: they
are not checked, and the option records them in ``Option.unchecked`` so the
plan can say "residency not checked on the local target".  A binding's region
is the catalog's default region when the backend offers it (and it meets the
residency), else the backend's first matching region in catalog order.

A map or collection is priced at the consistency the backend serves it
with (:func:`~skaal.solver.cost.served_consistency`): declared ``eventual``
reads cost the price's ``eventual_reads`` share where it has one.

Speed: planning 10,000 resources must fit in a second, so the work is
organised around what repeats.  Backend facts, prices and the per-kind
kind/implementation verdicts are computed once.  The *quality* checks (all but
sizes, rates, memory and timeout) run once per quality signature (kind,
requirements without quantities, indexes, schedule, http, pin); per resource
only the quantity checks (a fast numeric comparison against each backend's
tightest limit, text only on failure) and the costs of the survivors remain,
and a whole result is reused when a declaration repeats exactly.  Costs are
cached per (workload, backend), and only their totals are computed: the
itemised lines are built for the chosen backends when the plan is assembled.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from msgspec import Struct
from msgspec.structs import replace

from skaal.blueprint.model import Blueprint, Kind, Requirements, ResourceSpec
from skaal.catalog.model import Catalog
from skaal.declare.existing import adopted_server_cost, adopts_server, parse_existing, shown
from skaal.errors import PlanError, UsageError, did_you_mean
from skaal.model.grammar import GrammarError
from skaal.registry import DEFAULT_REGISTRY, Registry
from skaal.solver.checks import (
    Facts,
    Need,
    adopted_region,
    quality_rejections,
    quantity_rejections,
)
from skaal.solver.cost import (
    Pricing,
    Quantities,
    fitting_modes,
    mode_prices,
    monthly_quantities,
    served_consistency,
    workload,
)
from skaal.solver.problem import (
    Option,
    Problem,
    Rejection,
    ResourceOptions,
    SharedBackend,
    Workload,
)
from skaal.solver.servers import server_of

__all__ = ["build_problem"]

_NO_PINS: Final[Mapping[str, str]] = MappingProxyType({})

#: The requirement fields that decide feasibility (the pin is handled apart;
#: ``collocate_with`` couples resources and is the optimiser's business).
_QUANTITY_FIELDS: Final = ("size_gb", "reads_per_s", "writes_per_s", "memory_gb", "timeout_s")
_QUALITY_FIELDS: Final = tuple(
    f
    for f in Requirements.model_fields
    if f not in ("backend", "collocate_with", *_QUANTITY_FIELDS)
)
_quality_key = operator.attrgetter(*_QUALITY_FIELDS)
_quantity_key = operator.attrgetter(*_QUANTITY_FIELDS)

#: Per backend, in catalog order: the fixed rejections for one kind, or None if served.
_KindTable = tuple[tuple[Facts, tuple[Rejection, ...] | None], ...]
#: (catalog rank, (backend name, its rejections)): built once per quality
#: signature where possible, so resources share them instead of copying.
_Row = tuple[int, tuple[str, tuple[Rejection, ...]]]
_Result = tuple[Workload, tuple[Option, ...], tuple[tuple[str, tuple[Rejection, ...]], ...]]


def build_problem(
    blueprint: Blueprint,
    catalog: Catalog,
    *,
    registry: Registry = DEFAULT_REGISTRY,
    pins: Mapping[str, str] = _NO_PINS,
    existing: Mapping[str, str] = _NO_PINS,
) -> Problem:
    """Filter every resource against every backend; see the module docstring for the rules."""
    _validate_pins(blueprint, catalog, pins)
    specs = _adopting(blueprint, existing)
    _validate_existing(specs, catalog, existing)
    return _build(
        blueprint,
        specs=specs,
        catalog=catalog,
        registry=registry,
        pins=pins,
        configured=frozenset(existing),
    )


def _adopting(blueprint: Blueprint, existing: Mapping[str, str]) -> tuple[ResourceSpec, ...]:
    """The blueprint's specs, each adopting what ``existing`` names for it, if anything."""
    if not existing:
        return tuple(blueprint.resources)
    declared = {spec.name for spec in blueprint.resources}
    for name in sorted(existing):
        if name not in declared:
            raise UsageError(
                f"existing names {name!r}, which {blueprint.app} does not declare"
                f"{did_you_mean(name, declared)}",
                fix="adopt a declared resource, or remove the entry",
            )
    return tuple(
        spec.model_copy(update={"existing": existing[spec.name]}) if spec.name in existing else spec
        for spec in blueprint.resources
    )


def _build(
    blueprint: Blueprint,
    *,
    specs: tuple[ResourceSpec, ...],
    catalog: Catalog,
    registry: Registry,
    pins: Mapping[str, str],
    configured: frozenset[str],
) -> Problem:
    filt = _Filter(catalog, registry)
    resources: list[ResourceOptions] = []
    for spec in specs:
        load, options, rejected = filt.result(spec, pins)
        if options and adopts_server(spec, catalog.provider):
            # An existing server: one option, on the first PostgreSQL backend that can hold
            # the data, at the cost= its declaration states (else $0 -- its fees are its
            # owner's); no instance is planned.
            first = min(options, key=_rank)
            stated = adopted_server_cost(spec, catalog.provider)
            options = (replace(first, cost=stated, mode=None),)
        resources.append(ResourceOptions(spec, load, options, rejected))
    _restrict_to_triggers(resources, catalog, registry)
    used = filt.used()  # may keep a backend a trigger rule dropped: harmless, unused
    shared = tuple(
        SharedBackend(backend=b, server=server_of(b))
        for b in catalog.backends
        if b.server is not None and b.name in used
    )
    collocations = tuple(
        sorted(
            (spec.name, peer)
            for spec in blueprint.resources
            if (peer := spec.requirements.collocate_with) is not None
        )
    )
    return Problem(
        blueprint=blueprint,
        catalog=catalog,
        resources=tuple(resources),
        shared=shared,
        collocations=collocations,
        budget_usd_month=blueprint.budget_usd_month,
        max_backends=blueprint.max_backends,
        configured=configured,
    )


def _rank(option: Option) -> int:
    return option.rank


def _restrict_to_triggers(
    resources: list[ResourceOptions], catalog: Catalog, registry: Registry
) -> None:
    """Drop the queue/topic options that cannot start their consumer (in place).

    A source must be able to start every backend its consumer may land on,
    so no combination the optimiser picks is left without a trigger.
    """
    index = {r.spec.name: i for i, r in enumerate(resources)}
    implementation = {b.name: b.implementation for b in catalog.backends}
    rank = {b.name: i for i, b in enumerate(catalog.backends)}
    for consumer in [r for r in resources if r.spec.consumes or r.spec.subscribes]:
        at = index.get(consumer.spec.consumes or consumer.spec.subscribes or "")
        if at is None:
            continue
        source = resources[at]
        for started in sorted({implementation[o.backend] for o in consumer.options}):
            allowed = registry.triggers(started, source.spec.kind)
            if allowed is None:
                continue
            dropped = [o for o in source.options if implementation[o.backend] not in allowed]
            if not dropped:
                continue
            asked = f"{' or '.join(sorted(allowed)) or 'nothing'} (what starts {started})"
            rows = [
                (
                    o.backend,
                    (
                        Rejection(
                            o.backend,
                            "trigger",
                            asked,
                            f"{implementation[o.backend]}, which cannot start "
                            f"{consumer.spec.name} on {started}",
                            None,
                        ),
                    ),
                )
                for o in dropped
            ]
            source = replace(
                source,
                options=tuple(o for o in source.options if o not in dropped),
                rejections=tuple(sorted((*source.rejections, *rows), key=lambda row: rank[row[0]])),
            )
        resources[at] = source


def _validate_pins(blueprint: Blueprint, catalog: Catalog, pins: Mapping[str, str]) -> None:
    """Unknown resources in ``--pin`` are usage errors; unknown backends are plan errors."""
    declared = {spec.name for spec in blueprint.resources}
    for name in sorted(pins):
        if name not in declared:
            raise UsageError(
                f"--pin {name}={pins[name]}: the app declares no resource {name!r}"
                f"{did_you_mean(name, declared)}",
                fix="pin a declared resource: --pin RESOURCE=BACKEND",
            )
    backends = catalog.names()
    for spec in blueprint.resources:
        pin = pins.get(spec.name, spec.requirements.backend)
        if pin is None or pin in backends:
            continue
        origin = "--pin" if spec.name in pins else "backend="
        serving = [b.name for b in catalog.backends if b.serves(spec.kind)]
        raise PlanError(
            f"{spec.name} is pinned ({origin}) to backend {pin!r}, which catalog "
            f"{catalog.name!r} does not have{did_you_mean(pin, backends)}",
            where=str(spec.location),
            fix=(
                f"pin a {spec.kind} backend of {catalog.name!r} "
                f"({', '.join(serving) or 'it has none'}) or remove the pin"
            ),
        )


def _validate_existing(
    specs: tuple[ResourceSpec, ...], catalog: Catalog, configured: Mapping[str, str]
) -> None:
    """An ARN or URL of another provider than the catalog's is a plan error (locally: ignored)."""
    if catalog.provider == "local":
        return
    for spec in specs:
        if spec.existing is None:
            continue
        try:
            found = parse_existing(spec.existing, spec.kind)
        except GrammarError as exc:  # only a configured value can get here unchecked
            raise UsageError(
                f"{spec.name} (a {spec.kind}) cannot adopt {shown(spec.existing)} "
                f"(configured existing): {exc.message}",
                fix=f"accepted: {exc.accepted}",
            ) from None
        if spec.name in configured and found.provider not in (None, catalog.provider):
            raise UsageError(
                f"{spec.name} adopts {spec.existing!r} (configured existing), a resource on "
                f"{found.provider}, but catalog {catalog.name!r} plans for {catalog.provider}",
                fix=f"adopt a resource on {catalog.provider} (or a plain name) for this plan",
            )
        if found.provider is not None and found.provider != catalog.provider:
            raise PlanError(
                f"{spec.name} adopts {spec.existing!r}, a resource on {found.provider}, but "
                f"catalog {catalog.name!r} plans for {catalog.provider}",
                where=str(spec.location),
                fix=f"plan for {found.provider} (skaal plan --target {found.provider}), "
                f"or name a resource on {catalog.provider} in existing=",
            )


class _Filter:
    """Per-catalog precomputation and the caches of one ``build_problem`` call.

    Two levels: the *quality* checks (everything but sizes and rates) run once
    per quality signature and are kept per backend; the quantity checks and
    costs run per distinct workload, which is itself cached.
    """

    def __init__(self, catalog: Catalog, registry: Registry) -> None:
        self.catalog = catalog
        self.registry = registry
        self.local = catalog.provider == "local"
        self.facts = tuple(Facts.of(b, i, catalog.region) for i, b in enumerate(catalog.backends))
        self.pricing: tuple[tuple[tuple[str | None, Pricing], ...], ...] = tuple(
            mode_prices(b) for b in catalog.backends
        )
        self.kinds: dict[Kind, _KindTable] = {}
        self.qualities: dict[tuple[object, ...], _Quality] = {}
        self.results: dict[tuple[object, ...], _Result] = {}
        # ``results`` by the identities of a spec's requirements and schedule with its
        # other keyed fields: the records stay alive in the blueprint while their ids key it
        self.by_identity: dict[tuple[object, ...], _Result] = {}
        self.costs: dict[tuple[object, ...], dict[int, tuple[float, str | None]]] = {}

    def used(self) -> set[str]:
        """Backends offered to at least one resource so far (read once per distinct result)."""
        return {o.backend for _, options, _ in self.results.values() for o in options}

    def result(self, spec: ResourceSpec, pins: Mapping[str, str]) -> _Result:
        req = spec.requirements
        cli = spec.name in pins
        pin = pins[spec.name] if cli else req.backend
        # Alike declarations share their Requirements record (and schedule): by their
        # identities, a repeated declaration skips building and hashing the value key
        # below, whose records hash field by field in Python.
        same = (
            id(req),
            id(spec.schedule),
            spec.kind,
            spec.indexes,
            spec.http,
            pin,
            spec.name if cli else None,
            spec.existing,
        )
        found = self.by_identity.get(same)
        if found is not None:
            return found
        quality_key = (
            spec.kind,
            _quality_key(req),
            spec.indexes,
            spec.schedule,
            spec.http,
            pin,
            spec.name if cli else None,
            spec.existing,
        )
        key = (quality_key, _quantity_key(req))
        found = self.results.get(key)
        if found is None:
            quality = self.qualities.get(quality_key)
            if quality is None:
                quality = self.qualities[quality_key] = self._quality(spec, pin, cli)
            found = self.results[key] = self._result(spec, quality)
        self.by_identity[same] = found
        return found

    def _kind_table(self, kind: Kind) -> _KindTable:
        table = self.kinds.get(kind)
        if table is not None:
            return table
        provider = self.catalog.provider
        rows: list[tuple[Facts, tuple[Rejection, ...] | None]] = []
        for facts in self.facts:
            b = facts.backend
            if not b.serves(kind):
                offered = ", ".join(b.kinds)
                rows.append((facts, (Rejection(b.name, "kind", kind, offered, None),)))
                continue
            reason = self.registry.check(b.implementation, kind, provider)
            if reason is None:
                rows.append((facts, None))
            else:
                asked = f"an implementation for a {kind} on {provider}"
                rows.append((facts, (Rejection(b.name, "implementation", asked, reason, None),)))
        table = self.kinds[kind] = tuple(rows)
        return table

    def _quality(self, spec: ResourceSpec, pin: str | None, cli: bool) -> _Quality:
        """Per backend: served?, the failed non-quantity checks, and the region."""
        req = spec.requirements
        need = Need(
            kind=spec.kind,
            req=req,
            indexes=spec.indexes,
            schedule=spec.schedule,
            http=spec.http,
            pin=pin,
            pin_relaxation=f"--pin {spec.name}={{backend}}" if cli else 'backend="{backend}"',
            pin_origin="--pin" if cli else "declared",
            local=self.local,
            existing=None if spec.existing is None else parse_existing(spec.existing, spec.kind),
        )
        residency = None if self.local else req.residency
        region = self.catalog.region
        served: list[tuple[Facts, tuple[Rejection, ...], str | None, _Row | None]] = []
        unserved: list[_Row] = []
        for facts, fixed in self._kind_table(spec.kind):
            name = facts.backend.name
            if fixed is not None and fixed[0].constraint == "kind":
                unserved.append((facts.rank, (name, fixed)))
                continue
            failed = (*(fixed or ()), *quality_rejections(facts, need, region))
            row = (facts.rank, (name, failed)) if failed else None
            served.append((facts, failed, adopted_region(facts, need, residency, region), row))
        return _Quality(
            served=tuple(served),
            unserved=tuple(unserved),
            unserved_only=tuple(pair for _, pair in unserved),
        )

    def _result(self, spec: ResourceSpec, quality: _Quality) -> _Result:
        """Quantity checks and costs for one workload; the rest comes from ``quality``."""
        req = spec.requirements
        load = workload(spec)
        size, reads, writes, memory = (
            load.size_gb,
            load.reads_per_s,
            load.writes_per_s,
            load.memory_gb,
        )
        timeout = req.timeout_s
        unchecked = (
            tuple(k for k in ("availability", "residency") if getattr(req, k) is not None)
            + (("existing",) if spec.existing is not None else ())
            if self.local
            else ()
        )
        kind, declared = spec.kind, req.consistency
        # the served consistency (and so the price) depends on the kind and the declaration
        load_key = (*load.key(), kind, declared)
        costs = self.costs.get(load_key)
        if costs is None:
            costs = self.costs[load_key] = {}
        quantities = monthly_quantities(load)
        options: list[Option] = []
        extra: list[_Row] = []
        for facts, failed, region, row in quality.served:
            max_size, max_reads, max_writes, max_memory, max_timeout = facts.tightest
            rank = facts.rank
            fits = (
                size <= max_size
                and reads <= max_reads
                and writes <= max_writes
                and memory <= max_memory
                and (timeout is None or timeout <= max_timeout)
            )
            modes = self.pricing[rank]
            if fits and facts.quotas:  # throughput quotas count each mode's units
                eventual = _eventual(facts, spec)
                every_reads, every_writes = facts.every_mode[eventual]
                if reads > every_reads or writes > every_writes:  # some mode may not hold it
                    modes = fitting_modes(facts.backend, load, eventual=eventual, modes=modes)
                    fits = bool(modes)
            if not fits:
                too_much = quantity_rejections(
                    facts, spec.kind, load, timeout, eventual=_eventual(facts, spec)
                )
                if too_much:
                    name = facts.backend.name
                    extra.append((rank, (name, (*failed, *too_much))))
                    continue
            if row is not None:
                extra.append(row)  # shared by every resource of this quality signature
                continue
            priced = costs.get(rank)
            if priced is None:
                priced = costs[rank] = _cheapest_mode(
                    modes, quantities, eventual=_eventual(facts, spec)
                )
            options.append(
                Option(facts.backend.name, priced[0], rank, region, unchecked, priced[1])
            )
        options.sort(key=_option_order)  # (cost, rank)
        if not extra:
            return load, tuple(options), quality.unserved_only
        # Ranks are unique, so plain tuple order is rank order and never compares pairs.
        merged = sorted((*quality.unserved, *extra))
        return load, tuple(options), tuple(map(_second, merged))


def _eventual(facts: Facts, spec: ResourceSpec) -> bool:
    """Whether the backend of ``facts`` serves ``spec``'s reads eventually consistent."""
    offered = facts.backend.performance.consistency
    return served_consistency(spec.kind, spec.requirements.consistency, offered) == "eventual"


def _cheapest_mode(
    modes: tuple[tuple[str | None, Pricing], ...], quantities: Quantities, *, eventual: bool
) -> tuple[float, str | None]:
    """The cheapest capacity mode's cost for ``quantities`` (first declared wins ties)."""
    best: tuple[float, str | None] | None = None
    for mode, pricing in modes:
        cost = pricing.total(quantities, eventual=eventual)
        if best is None or cost < best[0]:
            best = (cost, mode)
    assert best is not None
    return best


_option_order = operator.attrgetter("cost", "rank")
_second = operator.itemgetter(1)


class _Quality(Struct, frozen=True):
    """One quality signature's verdicts: served backends to size-check, and the rest."""

    served: tuple[tuple[Facts, tuple[Rejection, ...], str | None, _Row | None], ...]
    """(facts, failed non-quantity checks, region, their ready-made row or None) per
    backend serving the kind."""
    unserved: tuple[_Row, ...]
    """(rank, (name, the kind rejection)) per backend not serving it."""
    unserved_only: tuple[tuple[str, tuple[Rejection, ...]], ...]
    """``unserved`` without ranks: the rejections when every served backend fits."""
