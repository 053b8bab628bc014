"""``UnsupportedKinds``: the default answer of a provider for every kind it does not serve.

Most implementations serve one or two kinds (``s3`` blobs, ``sqs`` queues,
``env`` secrets...), yet :class:`~skaal.runtime.ports.Provider` asks every
provider for all six.  A provider subclasses :class:`UnsupportedKinds`, names
its implementation in ``implementation`` and overrides only the methods of the
kinds it serves; the others raise
:class:`~skaal.runtime.errors.UnsupportedKindError` through
:func:`~skaal.runtime.ports.unsupported`, with the kind's user-facing name.
"""

from __future__ import annotations

from typing import ClassVar

from skaal.blueprint.model import ResourceSpec
from skaal.runtime.ports import (
    BlobBackend,
    DocumentBackend,
    KeyValueBackend,
    QueueBackend,
    SecretBackend,
    TopicBackend,
    unsupported,
)

__all__ = ["UnsupportedKinds"]


class UnsupportedKinds:
    """Every kind method of ``Provider``, each raising ``unsupported(implementation, kind)``."""

    implementation: ClassVar[str]

    def key_value(self, spec: ResourceSpec) -> KeyValueBackend:
        raise unsupported(self.implementation, "map")

    def documents(self, spec: ResourceSpec) -> DocumentBackend:
        raise unsupported(self.implementation, "collection")

    def blobs(self, spec: ResourceSpec) -> BlobBackend:
        raise unsupported(self.implementation, "blob")

    def queue(self, spec: ResourceSpec) -> QueueBackend:
        raise unsupported(self.implementation, "queue")

    def topic(self, spec: ResourceSpec) -> TopicBackend:
        raise unsupported(self.implementation, "topic")

    def secrets(self) -> SecretBackend:
        raise unsupported(self.implementation, "secret")
