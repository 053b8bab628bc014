"""The runtime's providers: implementation name → provider factory, from the registry.

Every implementation of :data:`skaal.registry.DEFAULT_REGISTRY` whose record
names a runtime factory (``"module:attribute"``, called with the
:class:`~skaal.runtime.ports.BackendSettings`) is in :data:`FACTORIES`; a
plan's binding names one, and :func:`create_provider` builds it.  A module is
imported only when its implementation is used, and a missing dependency is
reported with the packages the record names.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import cast

from skaal.errors import SkaalRuntimeError, did_you_mean
from skaal.registry import DEFAULT_REGISTRY, Implementation, Registry
from skaal.runtime.errors import UnknownImplementationError
from skaal.runtime.ports import BackendSettings, Provider

__all__ = ["FACTORIES", "LazyFactory", "ProviderFactory", "create_provider", "factories_of"]

ProviderFactory = Callable[[BackendSettings], Provider]


class LazyFactory:
    """The factory a record names, imported on the first call."""

    __slots__ = ("_resolved", "implementation")

    def __init__(self, implementation: Implementation) -> None:
        if implementation.runtime is None:
            raise ValueError(f"implementation {implementation.name!r} names no runtime factory")
        self.implementation = implementation
        self._resolved: ProviderFactory | None = None

    def resolve(self) -> ProviderFactory:
        """The factory itself; :class:`SkaalRuntimeError` if it cannot be imported."""
        if self._resolved is None:
            self._resolved = _import(self.implementation)
        return self._resolved

    def __call__(self, settings: BackendSettings) -> Provider:
        return self.resolve()(settings)

    def __repr__(self) -> str:
        return f"LazyFactory({self.implementation.runtime!r})"


def _import(implementation: Implementation) -> ProviderFactory:
    reference = implementation.runtime or ""
    module_name, _, attribute = reference.partition(":")
    where = f"implementation {implementation.name} (runtime {reference})"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name or module_name.startswith(f"{error.name}."):
            raise SkaalRuntimeError(
                f"the runtime factory of {implementation.name!r} names module "
                f"{module_name!r}, which does not exist",
                where=where,
                fix="correct the record's runtime in skaal/registry/builtin.py",
            ) from error
        packages = " ".join(implementation.packages) or str(error.name)
        raise SkaalRuntimeError(
            f"the {implementation.name} backend needs {error.name!r}, which is not installed",
            where=where,
            fix=f"install its packages where the app runs: pip install {packages}",
        ) from error
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise SkaalRuntimeError(
            f"the runtime factory of {implementation.name!r} names {attribute!r}, "
            f"which module {module_name} does not define",
            where=where,
            fix="correct the record's runtime in skaal/registry/builtin.py",
        )
    return cast(ProviderFactory, factory)


def factories_of(registry: Registry) -> Mapping[str, ProviderFactory]:
    """A factory for every implementation of ``registry`` that names one, by name."""
    return MappingProxyType(
        {impl.name: LazyFactory(impl) for impl in registry if impl.runtime is not None}
    )


FACTORIES: Mapping[str, ProviderFactory] = factories_of(DEFAULT_REGISTRY)


def create_provider(
    implementation: str,
    settings: BackendSettings,
    *,
    factories: Mapping[str, ProviderFactory] = FACTORIES,
    resource: str = "",
) -> Provider:
    """A new provider for ``implementation``; a helpful error for unknown names."""
    factory = factories.get(implementation)
    if factory is None:
        raise UnknownImplementationError(
            f"the plan binds {resource or 'a resource'} to implementation "
            f"{implementation!r}, which this runtime cannot run"
            f"{did_you_mean(implementation, factories)}",
            where=resource or None,
            fix=f"runnable here: {', '.join(sorted(factories))}; re-plan against the local catalog",
            command="skaal plan --catalog local",
        )
    return factory(settings)
