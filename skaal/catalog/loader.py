"""Loading catalogs: the TOML format, ``extends`` layering and validation.

A catalog lists the backends one provider offers, what each guarantees and
what each costs.  :func:`load_catalog` turns a bundled name (``"aws"``) or a
``.toml`` path into a validated, frozen :class:`~skaal.catalog.model.Catalog`.

Format reference (``schema_version = 1``)
=========================================

Top level::

    schema_version = 1          # required in every file; only 1 is supported
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
                                        #   inherited fields by dotted path

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

    [backends.NAME.shared]              # only for shared backends (one instance
    size_gb = 0.5                       #   serves many resources): capacity of ONE
    reads_per_s = 50000.0               #   instance: size_gb, reads_per_s,
    max_instances = 4                   #   writes_per_s, resources, max_instances

    [backends.NAME.price]               # required
    currency = "USD"                    # optional (default "USD")
    region = "us-east-1"                # required: one of the backend's regions
    per_gb_month = { amount = 0.25, source = "https://...", as_of = "2026-11-22" }

A price has at least one component out of ``fixed_monthly``,
``per_gb_month``, ``per_million_reads``, ``per_million_writes``,
``per_million_requests`` and ``per_gb_second`` (units in
:data:`~skaal.catalog.model.PRICE_COMPONENTS`; a free backend says
``amount = 0.0``).  Each component is ``{ amount, source, as_of, note }``:
``amount >= 0``, ``source`` the public pricing page, ``as_of`` a quoted
``"YYYY-MM-DD"`` or ``"YYYY-MM"`` date, ``note`` optional text.

``extends``
===========

A catalog may extend one other catalog, which may extend another (a cycle is
an error).  The result is the base with each extending file layered on top,
in order:

* ``remove_backends`` drops inherited backends (each must exist);
* ``remove`` in a backend table drops inherited fields (each dotted path must
  exist; the backend must be inherited);
* then tables deep-merge key by key and any other value (number, string,
  array) replaces the inherited one.

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
from dataclasses import dataclass, field

from skaal.catalog.merge import Merged, resolve_chain
from skaal.catalog.model import Catalog
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


@dataclass(frozen=True, slots=True)
class ResolvedCatalog:
    """A loaded catalog with its warnings and where each backend field came from."""

    catalog: Catalog
    warnings: tuple[str, ...]
    #: backend name -> dotted field path -> file (as shown to the user) that set it
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
            result.setdefault(path[1], {})[".".join(path[2:])] = shown[origin]
    return result
