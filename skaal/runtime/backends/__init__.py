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


def _redis(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.redis import RedisProvider

    return RedisProvider(settings)


def _postgres(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.postgres import PostgresProvider

    return PostgresProvider(settings)


def _firestore(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.firestore import FirestoreProvider

    return FirestoreProvider(settings)


def _gcs(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.gcs import GcsProvider

    return GcsProvider(settings)


def _pubsub(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.pubsub import PubsubProvider

    return PubsubProvider(settings)


def _env(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.env import EnvProvider

    return EnvProvider(settings)


def _secret_manager(settings: BackendSettings) -> Provider:
    # The gcp target mounts each Secret Manager secret into the Cloud Run
    # service as an environment variable of the secret's declared name
    # (skaal.build.targets.gcp_program), so the runtime reads the environment.
    from skaal.runtime.backends.env import EnvProvider

    return EnvProvider(settings)


def _secrets_manager(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.secrets_manager import SecretsManagerProvider

    return SecretsManagerProvider(settings)


def _dynamodb(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.dynamodb import DynamoDBProvider

    return DynamoDBProvider(settings)


def _s3(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.s3 import S3Provider

    return S3Provider(settings)


def _sns(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.sns import SnsProvider

    return SnsProvider(settings)


def _sqs(settings: BackendSettings) -> Provider:
    from skaal.runtime.backends.sqs import SqsProvider

    return SqsProvider(settings)


FACTORIES: Mapping[str, ProviderFactory] = MappingProxyType(
    {
        "dynamodb": _dynamodb,
        "env": _env,
        "filesystem": _filesystem,
        "firestore": _firestore,
        "gcs": _gcs,
        "memory": _memory,
        "postgres": _postgres,
        "pubsub": _pubsub,
        "redis": _redis,
        "s3": _s3,
        "secret-manager": _secret_manager,
        "secrets-manager": _secrets_manager,
        "sns": _sns,
        "sqlite": _sqlite,
        "sqs": _sqs,
    }
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
