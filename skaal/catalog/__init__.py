"""Catalogs: the backends each provider offers, validated from TOML.

:func:`load_catalog` reads a bundled catalog (``"aws"``) or a file, resolves
``extends`` and validates everything; the records it returns are defined in
:mod:`skaal.catalog.model`; the file format is documented in
:mod:`skaal.catalog.loader`.
"""

from skaal.catalog.loader import (
    TARGETS,
    ResolvedCatalog,
    catalog_for_target,
    load_catalog,
    resolve_catalog,
    validate_catalog,
)
from skaal.catalog.locate import bundled_catalogs
from skaal.catalog.model import (
    CAPABILITIES,
    PRICE_COMPONENTS,
    Backend,
    Capacity,
    Catalog,
    InstanceClass,
    Limits,
    Mode,
    Performance,
    Price,
    PriceItem,
    Provider,
    Server,
)
from skaal.catalog.problems import CatalogValidationError, Problem

__all__ = [
    "CAPABILITIES",
    "PRICE_COMPONENTS",
    "TARGETS",
    "Backend",
    "Capacity",
    "Catalog",
    "CatalogValidationError",
    "InstanceClass",
    "Limits",
    "Mode",
    "Performance",
    "Price",
    "PriceItem",
    "Problem",
    "Provider",
    "ResolvedCatalog",
    "Server",
    "bundled_catalogs",
    "catalog_for_target",
    "load_catalog",
    "resolve_catalog",
    "validate_catalog",
]
