"""Plan ⇒ runnable: every implementation the solver may choose has a runtime.

The solver only chooses backends whose implementation is registered in
``skaal.registry.DEFAULT_REGISTRY`` for the kind and provider.  Every such
implementation of a state, messaging or secret kind must therefore have a
provider factory in the runtime, and every bundled catalog entry the solver
could choose must resolve to one.
"""

from __future__ import annotations

import pytest

from skaal.catalog import bundled_catalogs, load_catalog
from skaal.registry import DEFAULT_REGISTRY
from skaal.runtime.backends import FACTORIES

#: Kinds served by a runtime provider (functions are served by the process itself).
_DATA_KINDS = {"map", "collection", "blob", "queue", "topic", "secret"}


@pytest.mark.parametrize("name", sorted(DEFAULT_REGISTRY.implementations))
def test_every_registered_data_implementation_has_a_runtime(name: str) -> None:
    implementation = DEFAULT_REGISTRY.implementations[name]
    if implementation.kinds & _DATA_KINDS:
        assert name in FACTORIES, f"{name} can be planned but has no runtime provider"


@pytest.mark.parametrize("catalog", sorted(bundled_catalogs()))
def test_every_choosable_catalog_backend_has_a_runtime(catalog: str) -> None:
    loaded = load_catalog(catalog)
    for backend in loaded.backends:
        for kind in backend.kinds:
            if kind not in _DATA_KINDS:
                continue
            if DEFAULT_REGISTRY.check(backend.implementation, kind, loaded.provider) is None:
                assert backend.implementation in FACTORIES, (
                    f"{catalog}: {backend.name} may be chosen for a {kind} "
                    f"but {backend.implementation!r} has no runtime provider"
                )
