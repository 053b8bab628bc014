"""Errors of the running data plane, all :class:`~skaal.errors.SkaalRuntimeError`.

::

    SkaalRuntimeError
    ├── NoActiveRuntimeError   a client method was called outside a runtime
    ├── NotBoundError          the resource is not in the runtime's plan
    ├── UnknownImplementationError  the plan names an implementation with no backend
    ├── UnsupportedKindError   an implementation was asked for a kind it lacks
    ├── ValueTypeError         a value or key of the wrong type was passed
    ├── StoredValueError       a stored value no longer matches the declared type
    ├── UndeclaredIndexError   find() on a field without an Index
    ├── InvalidCursorError     a cursor that this resource did not return
    ├── BlobKeyError           a blob key that could escape the store
    ├── BlobNotFoundError      get/open of a blob that does not exist
    ├── MissingSecretError     a required secret has no value
    └── ConflictError          update() lost the compare-and-set race too often
"""

from __future__ import annotations

from skaal.errors import SkaalRuntimeError

__all__ = [
    "BlobKeyError",
    "BlobNotFoundError",
    "ConflictError",
    "InvalidCursorError",
    "MissingSecretError",
    "NoActiveRuntimeError",
    "NotBoundError",
    "StoredValueError",
    "UndeclaredIndexError",
    "UnknownImplementationError",
    "UnsupportedKindError",
    "ValueTypeError",
]


class NoActiveRuntimeError(SkaalRuntimeError):
    """A resource's client method was called with no runtime active."""


class NotBoundError(SkaalRuntimeError):
    """The resource has no binding in the active runtime's plan."""


class UnknownImplementationError(SkaalRuntimeError):
    """A binding names an implementation the runtime has no backend for."""


class UnsupportedKindError(SkaalRuntimeError):
    """An implementation was asked to serve a kind it does not serve."""


class ValueTypeError(SkaalRuntimeError, TypeError):
    """A value or key does not match the declared type."""


class StoredValueError(SkaalRuntimeError):
    """A stored value cannot be read as the declared type (the type changed?)."""


class UndeclaredIndexError(SkaalRuntimeError):
    """``find`` was asked to filter on a field that has no ``Index``."""


class InvalidCursorError(SkaalRuntimeError):
    """A cursor was not one this resource returned."""


class BlobKeyError(SkaalRuntimeError, ValueError):
    """A blob key is empty, absolute, or could escape the store."""


class BlobNotFoundError(SkaalRuntimeError, KeyError):
    """The blob does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.render()


class MissingSecretError(SkaalRuntimeError):
    """A required secret has no value in the environment or ``.env``."""


class ConflictError(SkaalRuntimeError):
    """``update`` kept losing to concurrent writers."""
