"""Catalogs that make the solver use several servers of one implementation.

The bundled catalogs rarely need more than one Redis or PostgreSQL server.
:func:`awkward` derives, from any catalog, one where they often do:

* every server backend (an implementation of
  :data:`skaal.build.wiring.CONNECTION_ENV`) is shared with a tiny capacity
  -- one resource per instance, three instances at most -- so a second
  resource on it opens a second instance;
* each such backend gets a twin (``<name>-twin``): the same figures and the
  same implementation under another name, so a plan can also spread one
  implementation over two catalog backends, like ``rds-postgres`` and
  ``rds-postgres-multi-az``.
"""

from __future__ import annotations

from skaal.build.wiring import CONNECTION_ENV
from skaal.catalog.loader import load_catalog
from skaal.catalog.model import Backend, Capacity, Catalog

__all__ = ["BUNDLED", "awkward", "catalog_named"]

#: Every bundled catalog.
BUNDLED = ("local", "local-servers", "aws", "gcp")

_TINY = Capacity(size_gb=1.0, resources=1, max_instances=3)


def awkward(catalog: Catalog) -> Catalog:
    """``catalog`` with tiny shared server backends, each with a twin."""
    backends: list[Backend] = []
    for backend in catalog.backends:
        if backend.implementation not in CONNECTION_ENV:
            backends.append(backend)
            continue
        tiny = backend.model_copy(update={"shared": _TINY})
        twin = tiny.model_copy(
            update={"name": f"{backend.name}-twin", "description": f"twin of {backend.name}"}
        )
        backends += [tiny, twin]
    return catalog.model_copy(
        update={"name": f"{catalog.name}-awkward", "backends": tuple(backends)}
    )


def catalog_named(name: str) -> Catalog:
    """A bundled catalog (``aws``) or its awkward variant (``aws-awkward``)."""
    base, awkward_variant = name.removesuffix("-awkward"), name.endswith("-awkward")
    catalog = load_catalog(base)
    return awkward(catalog) if awkward_variant else catalog
