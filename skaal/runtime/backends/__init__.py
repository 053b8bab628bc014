"""The backend registry: implementation name → provider factory.

Names match :data:`skaal.registry.DEFAULT_REGISTRY`'s implementation names;
a plan's binding names one, and :func:`create_provider` builds it.  Modules
are imported only when their implementation is used.  A future backend adds
one entry here (and one fixture entry in the conformance suite).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from skaal.errors import did_you_mean
from skaal.runtime.errors import UnknownImplementationError
from skaal.runtime.ports import BackendSettings, Provider

__all__ = ["FACTORIES", "ProviderFactory", "create_provider"]

ProviderFactory = Callable[[BackendSettings], Provider]


def _memory(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.memory import MemoryProvider

    return MemoryProvider(settings)


def _sqlite(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.sqlite import SqliteProvider

    return SqliteProvider(settings)


def _filesystem(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.filesystem import FilesystemProvider

    return FilesystemProvider(settings)


def _env(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.env import EnvProvider

    return EnvProvider(settings)


FACTORIES: Mapping[str, ProviderFactory] = MappingProxyType(
    {"env": _env, "filesystem": _filesystem, "memory": _memory, "sqlite": _sqlite}
)


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
