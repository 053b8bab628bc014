"""Catalogs that make the solver use several servers of one implementation.

The bundled catalogs rarely need more than one Redis or PostgreSQL server.
:func:`awkward` derives, from any catalog, one where they often do:

* every server backend (an implementation whose record has a
  :attr:`~skaal.registry.Implementation.connection`) has one tiny class -- one
  resource per instance, three instances at most -- so a second resource on
  it opens a second instance; the class keeps the backend's first class's
  price and carries the parameters the cloud builders create the server
  from (:data:`PARAMETERS`);
* each such backend gets a twin (``<name>-twin``): the same figures and the
  same implementation under another name, so a plan can also spread one
  implementation over two catalog backends, like ``rds-postgres`` and
  ``rds-postgres-multi-az``.
"""

from __future__ import annotations

from skaal.catalog.loader import load_catalog
from skaal.catalog.model import Backend, Catalog, InstanceClass, Server
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["BUNDLED", "PARAMETERS", "awkward", "catalog_named"]

#: Every bundled catalog.
BUNDLED = ("local", "local-servers", "aws", "gcp")

#: (provider, implementation) -> the tiny class's parameters.
PARAMETERS: dict[tuple[str, str], dict[str, str | int | float]] = {
    ("aws", "postgres"): {"instance_class": "db.t4g.micro"},
    ("aws", "redis"): {"node_type": "cache.t4g.micro"},
    ("gcp", "postgres"): {"tier": "db-custom-1-3840"},
    ("gcp", "redis"): {"memory_size_gb": 1},
}


def _tiny(catalog: Catalog, backend: Backend) -> Server:
    assert backend.server is not None, backend.name
    first = backend.server.classes[0]
    tiny = InstanceClass(
        name="tiny",
        price=first.price,
        size_gb=1.0,
        resources=1,
        connections=first.connections or 20,
        parameters=PARAMETERS.get((catalog.provider, backend.implementation), {}),
    )
    return backend.server.model_copy(update={"classes": (tiny,), "quota": 3})


def awkward(catalog: Catalog) -> Catalog:
    """``catalog`` with tiny shared server backends, each with a twin."""
    backends: list[Backend] = []
    for backend in catalog.backends:
        if DEFAULT_REGISTRY.connection(backend.implementation) is None:
            backends.append(backend)
            continue
        tiny = backend.model_copy(update={"server": _tiny(catalog, backend)})
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
