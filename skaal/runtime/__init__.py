"""The local data plane: typed clients over backends, wired from a Plan.

``async with Runtime.open(app, plan, data_dir=...) as rt:`` opens the backend
each binding names and makes ``await Carts.get("k")`` work; see
:mod:`skaal.runtime.runtime`.  Backends implement the protocols of
:mod:`skaal.runtime.ports`; :mod:`skaal.runtime.backends` registers them by
implementation name.
"""

from skaal.declare.active import active_runtime
from skaal.runtime.clients import (
    BlobClient,
    CollectionClient,
    MapClient,
    QueueClient,
    RetryPolicy,
    TopicClient,
    TopicSubscription,
)
from skaal.runtime.errors import (
    BlobKeyError,
    BlobNotFoundError,
    ConflictError,
    InvalidCursorError,
    MissingSecretError,
    NoActiveRuntimeError,
    NotBoundError,
    StoredValueError,
    UndeclaredIndexError,
    UnknownImplementationError,
    UnsupportedKindError,
    ValueTypeError,
    WrongBackendError,
)
from skaal.runtime.ports import BlobInfo, BlobStream, DeadLetter, Delivery, Page
from skaal.runtime.runtime import DEFAULT_DATA_DIR, Consumer, Runtime, Subscriber

__all__ = [
    "DEFAULT_DATA_DIR",
    "BlobClient",
    "BlobInfo",
    "BlobKeyError",
    "BlobNotFoundError",
    "BlobStream",
    "CollectionClient",
    "ConflictError",
    "Consumer",
    "DeadLetter",
    "Delivery",
    "InvalidCursorError",
    "MapClient",
    "MissingSecretError",
    "NoActiveRuntimeError",
    "NotBoundError",
    "Page",
    "QueueClient",
    "RetryPolicy",
    "Runtime",
    "StoredValueError",
    "Subscriber",
    "TopicClient",
    "TopicSubscription",
    "UndeclaredIndexError",
    "UnknownImplementationError",
    "UnsupportedKindError",
    "ValueTypeError",
    "WrongBackendError",
    "active_runtime",
]
