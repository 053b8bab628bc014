"""The base of the frozen records passed between stages.

Blueprint, Catalog and Plan (and the records nested in them) are frozen
pydantic models that forbid unknown fields.  Because they are frozen, a value
derived from one of them never changes, so it can be computed once:
:meth:`Record.memo` keeps such values (the content hashes, which serialise
the whole record to canonical JSON: about 0.1 s for a 10,000-resource
Blueprint; the Blueprint's index of resources by name) beside the fields.

The memo lives in the instance ``__dict__`` under a key that is not a field:
pydantic's dumps, ``repr`` and equality look at fields only, so it never shows
in a lock file or changes which records compare equal.  The one way to derive
a *different* record from an existing instance, ``model_copy(update=...)``,
copies the ``__dict__``; :meth:`Record.model_copy` therefore starts the copy
with an empty memo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Record"]

_MEMO = "__skaal_memo__"
_T = TypeVar("_T")


class Record(BaseModel):  # noqa: PLW1641 - pydantic gives every frozen record its __hash__
    """A frozen record that rejects unknown fields and can memoise derived values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def memo(self, name: str, compute: Callable[[], _T]) -> _T:
        """``compute()`` the first time ``name`` is asked for, the kept value afterwards."""
        memo: dict[str, Any] = self.__dict__.setdefault(_MEMO, {})
        if name not in memo:
            memo[name] = compute()
        value: _T = memo[name]
        return value

    def __eq__(self, other: object) -> bool:
        """pydantic's comparison, its common answer first: records of one class with equal
        fields.  A record has no extra fields (``extra="forbid"``) and no private
        attributes, so equal ``__dict__`` is pydantic's own first test of equality; the
        rest (a memo on one side, another class) goes to pydantic.  A plan that keeps its
        lock's placements compares every binding with the lock's, each with its cost
        lines: this takes a third of pydantic's time."""
        if type(other) is type(self) and self.__dict__ == other.__dict__:
            return True
        return super().__eq__(other)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (with ``update`` applied) whose derived values are computed afresh."""
        copied = super().model_copy(update=update, deep=deep)
        copied.__dict__.pop(_MEMO, None)
        return copied
