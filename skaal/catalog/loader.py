"""Loading catalogs: the TOML format, ``extends`` layering and validation.

A catalog lists the backends one provider offers, what each guarantees and
what each costs.  :func:`load_catalog` turns a bundled name (``"aws"``) or a
``.toml`` path into a validated, frozen :class:`~skaal.catalog.model.Catalog`.

Format reference (``schema_version = 2``)
=========================================

Top level::

    schema_version = 2          # required in every file: 2 (1 is still read, see below)
    name = "aws"                # required in every file
    provider = "aws"            # required (may be inherited): local | aws | gcp
    region = "us-east-1"        # required (may be inherited): default region of prices
    description = "..."         # optional
    extends = "local"           # optional: a bundled name, or a path relative to this file
    remove_backends = ["x"]     # optional, only with extends: drop inherited backends

One table per backend; the table key is the backend's name::

    [backends.NAME]
    description = "..."                 # required
    kinds = ["map", "collection"]       # required: map collection blob queue topic
                                        #   function secret
    implementation = "redis"            # required: a name in skaal.registry
    regions = ["us-east-1"]             # required, not empty
    capabilities = ["ttl"]              # optional: see CAPABILITIES
    requires = ["vpc"]                  # optional: network needs
    remove = ["limits.max_size_gb"]     # optional, only when extending: drop
                                        #   inherited fields by dotted key

    [backends.NAME.performance]         # required
    read_latency_ms = 1.0               # optional, > 0: typical p99
    write_latency_ms = 1.0              # optional, > 0
    durability = "persistent"           # required: ephemeral | persistent | durable
    consistency = ["strong"]            # optional (default ["eventual"])
    availability = 99.9                 # required, percent, 0 < a <= 100

    [backends.NAME.limits]              # optional; a missing key means unlimited
    max_size_gb = 1.0                   # also max_reads_per_s, max_writes_per_s,
                                        #   max_retention_s, max_ttl_s, max_memory_gb,
                                        #   max_timeout_s (all > 0)

    [backends.NAME.price]               # required, unless the backend has modes
    currency = "USD"                    # optional (default "USD")
    region = "us-east-1"                # required: one of the backend's regions
    per_gb_month = { amount = 0.25, source = "https://...", as_of = "2026-11-22" }

A **server** backend (instances that many resources share: Redis, PostgreSQL)
adds a ``[server]`` table and one table per instance class, keyed by the
class name (quote a name with dots; file order is the planner's tie-break
order, so list the cheapest first)::

    [backends.NAME.server]
    quota = 40                          # required, integer > 0: instances per region,
                                        #   the provider's documented default quota
    quota_group = "rds-db-instances"    # optional: servers naming the same group share
                                        #   one quota (every member states it)
    quota_scope = "region"              # optional: "region" (default), or "account":
                                        #   one quota over every region (a Google Cloud
                                        #   project's Cloud SQL instances)
    quota_source = "https://..."        # optional: the quota page
    quota_adjustable = true             # optional (default true)
    min_disk_gb = 20.0                  # optional, >= 0 (default 0): the volume floor
                                        #   of one instance; 0 for a memory store

    [backends.NAME.server.classes."db.t4g.micro"]
    description = "2 vCPU, 1 GiB"       # optional
    price = { amount = 11.68, source = "https://...", as_of = "2026-12-03" }
                                        # required: one instance's fee per month
                                        #   (instance hours only; storage is
                                        #   the backend's per_gb_month)
    size_gb = 65536.0                   # optional, > 0: what one instance holds
    reads_per_s = 2000.0                # optional, > 0
    writes_per_s = 500.0                # optional, > 0
    connections = 87                    # optional, integer > 0
    resources = 1000                    # optional, integer > 0: resources per instance
    max_replicas = 5                    # optional, integer >= 0 (default 0): read
                                        #   replicas, each a node fee; memory stores
                                        #   whose consistency is ["eventual"] only (the
                                        #   runtime reads from the replicas)
    min_replicas = 1                    # optional, integer >= 0 (default 0), at most
                                        #   max_replicas: replicas every instance runs
    quota_units = 1                     # optional, integer > 0 (default 1): quota one
                                        #   node uses (its GB where the quota counts GB);
                                        #   an instance with r replicas uses (1 + r) times it
    parameters = { instance_class = "db.t4g.micro" }
                                        # optional: strings and numbers for the builders

A server's ``[price]`` holds its currency, region and per-use components
(``per_gb_month`` for the data on a disk server); it may have no component,
and ``fixed_monthly`` is refused there: the fee belongs to the classes.  At
least one class is required.

A dedicated backend may offer **capacity modes** instead of one price, one
table per mode keyed by its name; the planner prices each and keeps the
cheapest.  Such a backend has no ``[price]`` of its own (its price is its
first mode's)::

    [backends.NAME.modes.on-demand]
    description = "..."                 # optional
    price = { region = "us-east-1", per_million_reads = {...} }   # required
    [backends.NAME.modes.provisioned]
    target_utilisation = 0.7            # 0 < t <= 1: provisioned = rate / t
    price = { region = "us-east-1", per_read_per_s_month = {...} }

A dedicated backend may state the provider's **count quotas**: how many of
what its resources create (tables, topics, buckets) one account holds, one
table per quota keyed by what it counts; the planner keeps every plan
within them::

    [backends.NAME.counts.tables]
    quota = 2500                        # required, integer > 0
    per_kind = { map = 1, collection = 1 }
                                        # required: how many each resource of a kind
                                        #   creates (kinds the backend serves)
    per_subscriber = 1                  # optional, integer >= 0 (default 0): how many
                                        #   more a topic creates per subscribed function
    per_schedule = 1                    # optional, integer >= 0 (default 0): how many
                                        #   more a function on a schedule creates
    per_route = 1                       # optional, integer >= 0 (default 0): how many
                                        #   more a function the HTTP API routes to creates
    reserved = 2                        # optional, integer >= 0, below quota (default
                                        #   0): how many the build creates for the app
    scope = "region"                    # optional: "region" (default), "account", or
                                        #   "app" (once per app: its HTTP API)
    source = "https://..."              # optional: the quota page
    adjustable = true                   # optional (default true)

A price has at least one component out of ``fixed_monthly``,
``per_gb_month``, ``per_million_reads``, ``per_million_writes``,
``per_million_requests``, ``per_gb_second``, ``per_read_per_s_month`` and
``per_write_per_s_month`` (units in
:data:`~skaal.catalog.model.PRICE_COMPONENTS`; a free backend says
``amount = 0.0``).  The two provisioned components only appear in a mode
with ``target_utilisation``.  Each component is ``{ amount, source, as_of,
note }``: ``amount >= 0``, ``source`` the public pricing page, ``as_of`` a
quoted ``"YYYY-MM-DD"`` or ``"YYYY-MM"`` date, ``note`` optional text.
Every number must be finite: ``inf`` and ``nan`` are refused.

Schema 1
========

Schema-1 files (``schema_version = 1``) still load.  They described a server
by one ``[backends.NAME.shared]`` table (``size_gb``, ``reads_per_s``,
``writes_per_s``, ``resources``, ``max_instances``) with its fee in
``price.fixed_monthly``; they are read as a server with one class named
``standard`` priced ``fixed_monthly``, ``quota = max_instances`` (default 1)
and ``min_disk_gb = 0`` (see :mod:`skaal.catalog.schema1`), so they plan
exactly as before.  ``skaal catalog validate`` warns about them.

``extends``
===========

A catalog may extend one other catalog, which may extend another (a cycle is
an error).  The result is the base with each extending file layered on top,
in order:

* ``remove_backends`` drops inherited backends (each must exist);
* ``remove`` in a backend table drops inherited fields (each dotted key must
  exist; the backend must be inherited).  A dotted key quotes a name that
  contains dots: ``remove = ['server.classes."db.t4g.micro"']`` drops one
  instance class, ``remove = ["modes.provisioned"]`` one mode;
* then tables deep-merge key by key and any other value (number, string,
  array) replaces the inherited one.  Classes and modes are tables keyed by
  name, so a file changes one class's price with
  ``[backends.X.server.classes."db.t4g.micro"] price.amount = 10.0`` and adds
  a class by writing a new table (it follows the inherited classes).

Removal happens first, so ``remove = ["price"]`` plus a ``price`` table
replaces the inherited price instead of merging into it.  Backends keep the
base's order, new ones follow in file order: the solver breaks cost ties by
this order.  ``Catalog.sources`` lists the files, base first.

Errors and warnings
===================

Every load validates everything (see :mod:`skaal.catalog.validate`) and raises
one :class:`~skaal.catalog.problems.CatalogValidationError` (a ``CatalogError``, exit
code 2) listing every problem with file, line, table, key and fix.
:func:`resolve_catalog` also returns warnings (legal but suspicious entries,
such as an implementation the registry does not know); ``skaal catalog
validate`` prints them.
"""

from __future__ import annotations

import os

from msgspec import Struct, field

from skaal.catalog.merge import Merged, resolve_chain
from skaal.catalog.model import Catalog
from skaal.catalog.positions import dotted
from skaal.catalog.problems import display_path
from skaal.catalog.validate import build_catalog, catalog_warnings
from skaal.errors import UsageError, did_you_mean

__all__ = [
    "TARGETS",
    "ResolvedCatalog",
    "catalog_for_target",
    "load_catalog",
    "resolve_catalog",
    "validate_catalog",
]

#: Deployment targets and the bundled catalog each plans against.
TARGETS: dict[str, str] = {"local": "local", "aws": "aws", "gcp": "gcp"}


class ResolvedCatalog(Struct, frozen=True):
    """A loaded catalog with its warnings and where each backend field came from."""

    catalog: Catalog
    warnings: tuple[str, ...]
    #: backend name -> dotted field path (a TOML dotted key, names with dots quoted:
    #: ``server.classes."db.t4g.micro".price.amount``) -> file (as shown) that set it
    origins: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def chain(self) -> tuple[str, ...]:
        """The files of the ``extends`` chain as shown to the user, base first."""
        return tuple(display_path(s) for s in self.catalog.sources)

    def defined_in(self, backend: str) -> tuple[str, ...]:
        """The files that contributed to ``backend``, base first."""
        used = set(self.origins.get(backend, {}).values())
        return tuple(f for f in self.chain if f in used)


def resolve_catalog(ref: str | os.PathLike[str]) -> ResolvedCatalog:
    """Load ``ref`` (bundled name or path) with its warnings and field origins."""
    merged = resolve_chain(ref)
    catalog = _build(merged)
    return ResolvedCatalog(
        catalog=catalog,
        warnings=tuple(catalog_warnings(catalog, merged)),
        origins=_backend_origins(merged),
    )


def load_catalog(ref: str | os.PathLike[str]) -> Catalog:
    """The validated catalog ``ref`` names: a bundled name (``"aws"``) or a ``.toml`` path.

    Only the catalog: warnings and field origins (which need every key's line)
    are :func:`resolve_catalog`'s business, for ``skaal catalog``.
    """
    return _build(resolve_chain(ref))


def _build(merged: Merged) -> Catalog:
    return build_catalog(merged, command=f"skaal catalog validate {merged.files[-1].shown}")


def validate_catalog(path: str | os.PathLike[str]) -> list[str]:
    """Validate a catalog fully; return its warnings (problems raise ``CatalogError``)."""
    return list(resolve_catalog(path).warnings)


def catalog_for_target(target: str) -> Catalog:
    """The bundled catalog for a deployment target (``local``, ``aws`` or ``gcp``)."""
    if target not in TARGETS:
        raise UsageError(
            f"unknown target {target!r}{did_you_mean(target, TARGETS)}",
            fix=f"use one of: {', '.join(TARGETS)}",
            command="skaal catalog list",
        )
    return load_catalog(TARGETS[target])


def _backend_origins(merged: Merged) -> dict[str, dict[str, str]]:
    shown = {str(f.path): f.shown for f in merged.files}
    result: dict[str, dict[str, str]] = {}
    for path, origin in merged.origins.items():
        if len(path) > 2 and path[0] == "backends":
            result.setdefault(path[1], {})[dotted(path[2:])] = shown[origin]
    return result
