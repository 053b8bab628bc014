"""The implementation registry: which backend implementations Skaal can run and build.

A catalog entry names an ``implementation``; the solver may only choose an
entry whose implementation is registered here for the resource's kind and the
catalog's provider.  Plan ⇒ buildable ⇒ runnable starts here: a user can add
any backend to a catalog, but the planner will say it has no implementation
rather than produce a plan nothing can run.

Each entry records, per kind, whether the runtime client and the builder for
each provider exist yet (``runtime`` / ``builders``).  ``Registry.check``
answers "can this backend be chosen?" with a reason when it cannot.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from skaal.blueprint.model import Kind
from skaal.catalog.model import Provider

__all__ = ["DEFAULT_REGISTRY", "Implementation", "Registry"]


@dataclass(frozen=True, slots=True)
class Implementation:
    """A backend implementation and where it can run."""

    name: str
    kinds: frozenset[Kind]
    providers: frozenset[Provider]
    summary: str
    triggered_by: Mapping[Kind, frozenset[str]] | None = None
    """For a function implementation started by messages (an AWS Lambda is
    invoked by an event source): per kind, the implementations of the queue or
    topic that can start it.  ``None``: its consumers poll in-process, so any
    implementation will do."""


@dataclass(frozen=True, slots=True)
class Registry:
    """Implementations by name; immutable, so tests build their own."""

    implementations: Mapping[str, Implementation] = field(default_factory=dict)

    @classmethod
    def of(cls, items: Iterable[Implementation]) -> Registry:
        return cls(MappingProxyType({i.name: i for i in sorted(items, key=lambda i: i.name)}))

    def check(self, implementation: str, kind: Kind, provider: Provider) -> str | None:
        """``None`` if ``implementation`` can serve ``kind`` on ``provider``, else why not."""
        impl = self.implementations.get(implementation)
        if impl is None:
            return f"no runtime implementation named {implementation!r}"
        if kind not in impl.kinds:
            return f"implementation {implementation!r} does not serve a {kind}"
        if provider not in impl.providers:
            return f"implementation {implementation!r} cannot be built for {provider}"
        return None

    def names(self) -> tuple[str, ...]:
        return tuple(self.implementations)

    def triggers(self, function: str, kind: Kind) -> frozenset[str] | None:
        """The implementations of a ``kind`` that can start ``function`` (``None``: any)."""
        impl = self.implementations.get(function)
        if impl is None or impl.triggered_by is None:
            return None
        return impl.triggered_by.get(kind, frozenset())


def _impl(name: str, kinds: str, providers: str, summary: str) -> Implementation:
    return Implementation(
        name=name,
        kinds=frozenset(kinds.split()),  # type: ignore[arg-type]
        providers=frozenset(providers.split()),  # type: ignore[arg-type]
        summary=summary,
    )


DEFAULT_REGISTRY = Registry.of(
    [
        _impl("memory", "map collection queue topic", "local", "in-process, ephemeral"),
        _impl("sqlite", "map collection queue topic", "local", "embedded SQLite file"),
        _impl("filesystem", "blob", "local", "files under the data directory"),
        _impl("redis", "map queue topic", "local aws gcp", "Redis (ElastiCache, Memorystore)"),
        _impl("postgres", "map collection queue", "local aws gcp", "PostgreSQL (RDS, Cloud SQL)"),
        _impl("dynamodb", "map collection", "aws", "Amazon DynamoDB"),
        _impl("s3", "blob", "aws", "Amazon S3"),
        _impl("sqs", "queue", "aws", "Amazon SQS"),
        _impl("sns", "topic", "aws", "Amazon SNS fanning out to SQS"),
        _impl("firestore", "map collection", "gcp", "Google Cloud Firestore"),
        _impl("gcs", "blob", "gcp", "Google Cloud Storage"),
        _impl("pubsub", "queue topic", "gcp", "Google Cloud Pub/Sub"),
        _impl("process", "function", "local", "the local server process"),
        Implementation(
            name="lambda",
            kinds=frozenset({"function"}),
            providers=frozenset({"aws"}),
            summary="AWS Lambda behind API Gateway",
            # consumers run on SQS event source mappings; subscribers on an
            # SQS queue subscribed to the SNS topic
            triggered_by=MappingProxyType(
                {"queue": frozenset({"sqs"}), "topic": frozenset({"sns"})}
            ),
        ),
        _impl("cloud-run", "function", "gcp", "Google Cloud Run"),
        _impl("env", "secret", "local", "environment variables and .env"),
        _impl("secrets-manager", "secret", "aws", "AWS Secrets Manager"),
        _impl("secret-manager", "secret", "gcp", "Google Secret Manager"),
    ]
)
