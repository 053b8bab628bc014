"""Errors of the running data plane, all :class:`~skaal.errors.SkaalRuntimeError`.

::

    SkaalRuntimeError
    ├── NoActiveRuntimeError   a client method was called outside a runtime
    ├── NotBoundError          the resource is not in the runtime's plan
    ├── UnknownImplementationError  the plan names an implementation with no backend
    ├── UnsupportedKindError   an implementation was asked for a kind it lacks
    ├── UnsupportedOperationError  a backend lacks an optional operation (redrive)
    ├── WrongBackendError      native() asked for a backend the resource is not bound to
    ├── ValueTypeError         a value or key of the wrong type was passed
    ├── StoredValueError       a stored value no longer matches the declared type
    ├── UndeclaredIndexError   find() on a field without an Index
    ├── InvalidCursorError     a cursor that this resource did not return
    ├── BlobKeyError           a blob key that could escape the store
    ├── BlobNotFoundError      get/open of a blob that does not exist
    ├── MissingSecretError     a required secret has no value
    ├── ConflictError          update() lost the compare-and-set race too often
    ├── DeadlineExceededError  a client call did not finish within its deadline (a TimeoutError)
    ├── OutcomeUnknownError    a write that is unsafe to repeat failed after it was sent
    └── InvalidSettingError    a runtime setting (an environment variable) has a bad value
"""

from __future__ import annotations

from typing import Literal

from skaal.declare.active import NoActiveRuntimeError
from skaal.errors import SkaalRuntimeError

__all__ = [
    "BlobKeyError",
    "BlobNotFoundError",
    "ConflictError",
    "DeadlineExceededError",
    "InvalidCursorError",
    "InvalidSettingError",
    "MissingSecretError",
    "NoActiveRuntimeError",
    "NotBoundError",
    "OutcomeUnknownError",
    "StoredValueError",
    "UndeclaredIndexError",
    "UnknownImplementationError",
    "UnsupportedKindError",
    "UnsupportedOperationError",
    "ValueTypeError",
    "WrongBackendError",
]


class NotBoundError(SkaalRuntimeError):
    """The resource has no binding in the active runtime's plan."""


class UnknownImplementationError(SkaalRuntimeError):
    """A binding names an implementation the runtime has no backend for."""


class UnsupportedKindError(SkaalRuntimeError):
    """An implementation was asked to serve a kind it does not serve."""


class UnsupportedOperationError(SkaalRuntimeError):
    """A backend lacks an optional operation (redriving dead letters)."""


class WrongBackendError(SkaalRuntimeError):
    """``native(MARKER)`` named a backend other than the one the plan bound the resource to."""


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


_AFTER_DEADLINE = {
    "unchanged": "nothing was changed",
    "repeatable": "the write may have been applied, once",
    "unknown": "the write may have been applied (it was not sent twice); read the state "
    "before repeating it",
}


class DeadlineExceededError(SkaalRuntimeError, TimeoutError):
    """A client call did not finish within its deadline (``SKAAL_CALL_DEADLINE``).

    ``resource``, ``operation`` and ``deadline`` (seconds) say which call.
    """

    def __init__(
        self,
        what: str,
        *,
        resource: str,
        operation: str,
        deadline: float,
        where: str | None = None,
        fix: str | None = None,
        command: str | None = None,
    ) -> None:
        self.resource, self.operation, self.deadline = resource, operation, deadline
        super().__init__(what, where=where, fix=fix, command=command)

    @classmethod
    def build(
        cls,
        *,
        resource: str,
        operation: str,
        deadline: float,
        outcome: Literal["unchanged", "repeatable", "unknown"],
        last: BaseException | None = None,
        fix: str = "check that the server is up and not overloaded; if it is merely slow, "
        "raise SKAAL_CALL_DEADLINE (seconds)",
    ) -> DeadlineExceededError:
        """The error for ``operation`` on ``resource``.

        ``outcome`` says what the caller may assume: ``unchanged`` (a read, or
        a write known not to have started), ``repeatable`` (a write the client
        retried safely, which may have been applied once) or ``unknown`` (a
        write that may have been applied and was not re-sent).
        """
        seen = f"; last failure: {type(last).__name__}: {last}" if last is not None else ""
        return cls(
            f"{operation} on {resource} timed out after {deadline:g} s "
            f"({_AFTER_DEADLINE[outcome]}){seen}",
            resource=resource,
            operation=operation,
            deadline=deadline,
            fix=fix,
        )


class OutcomeUnknownError(SkaalRuntimeError):
    """A write that is unsafe to repeat failed after it reached the wire; it was not re-sent."""


class InvalidSettingError(SkaalRuntimeError):
    """A runtime setting (an environment variable) has a value that cannot be used."""
