"""The base of the frozen records passed between stages.

Blueprint, Catalog and Plan (and the records nested in them) are frozen
``msgspec`` structs that take their fields by keyword and forbid unknown
ones.  They were pydantic models; ``skaal plan`` spent about a third of its
time importing pydantic and building its validators and serialisers (about
0.13 s of a 1,000-resource plan), where a struct class costs some
microseconds to define and is built, compared and dumped in C.  The names
code written against those models calls are kept: :meth:`Record.model_validate`
checks a mapping against the field types and constraints,
:meth:`Record.model_dump` dumps, :meth:`Record.model_copy` derives a record.

What a struct does not do that a pydantic model did: calling a record's
class does not check its arguments.  Data from outside (TOML catalogs, lock
files, a user's mapping) goes through :meth:`Record.model_validate`, which
checks types and constraints strictly, turns an array into a tuple, and runs
the records' own checks (``__post_init__``); code building records from
values it computed is typed, and mypy checks it.  One conversion is made
however a record is built: an integer given to a float field becomes that
float (``PriceItem(amount=1)`` holds ``1.0``), as validation would make it.
A record's text is hashed (lock files, build manifests), and ``1`` and
``1.0`` are different text: a plan whose cost line was built with
``quantity=1`` would not hash the same once read back from its lock.

Because records are frozen, a value derived from one never changes, so it
can be computed once: :meth:`Record.memo` keeps such values (the content
hashes, which serialise the whole record to canonical JSON; the Blueprint's
index of resources by name) in the instance ``__dict__``, which holds no
field: dumps, ``repr``, equality and hashing look at fields only, so a memo
never shows in a lock file or changes which records compare equal, and a
record derived with :meth:`Record.model_copy` starts without one.
"""

from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

import msgspec
from msgspec import Struct
from msgspec.structs import force_setattr, replace

__all__ = ["Record", "error_path", "split_error"]

_MEMO = "__skaal_memo__"
_T = TypeVar("_T")


class _FieldNames:
    """The field names of the class it is read on (``Record.model_fields``)."""

    def __get__(self, instance: object, owner: type[Struct]) -> tuple[str, ...]:
        return owner.__struct_fields__


class Record(Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, dict=True):
    """A frozen record that rejects unknown fields and can memoise derived values."""

    #: The field names, in order (read on the class, as pydantic's ``model_fields``).
    model_fields: ClassVar[_FieldNames] = _FieldNames()

    @classmethod
    def model_validate(cls, data: Any, *, strict: bool = True) -> Self:
        """``data`` (a mapping, or a record) checked and converted into this record.

        Raises :class:`msgspec.ValidationError` naming the first wrong field by
        its path (``$.backends[0].price.amount``).  ``strict=False`` also
        accepts the text form of numbers and flags.
        """
        if isinstance(data, cls):
            return data
        return msgspec.convert(data, cls, strict=strict)

    def model_dump(
        self,
        *,
        mode: Literal["python", "json"] = "python",
        exclude: set[str] | frozenset[str] | None = None,
    ) -> dict[str, Any]:
        """The fields as a dict (nested records as dicts too), ``exclude`` left out.

        ``mode="json"`` gives only values JSON and TOML writers take (msgspec's
        builtins, in C): dicts, tuples (written as arrays), text, numbers,
        flags and ``None``; ``"python"`` gives nested records as dicts and
        leaves every other value as it is.
        """
        data = msgspec.to_builtins(self) if mode == "json" else _python(self)
        if exclude:
            for name in exclude:
                data.pop(name, None)
        return data

    def model_dump_json(self) -> str:
        """The fields as compact JSON text."""
        return msgspec.json.encode(self).decode()

    @classmethod
    def model_validate_json(cls, text: str | bytes) -> Self:
        """JSON text checked and converted into this record, as :meth:`model_validate`."""
        return msgspec.json.decode(text, type=cls, strict=True)

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Self:
        """A copy with ``update`` applied (unchecked, as pydantic's), without the memo."""
        return replace(self, **(update or {}))

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` for every field, in order."""
        for name in self.__struct_fields__:
            yield name, getattr(self, name)

    def __post_init__(self) -> None:
        """Integers given to float fields become floats (see the module docstring)."""
        for name in _float_fields(type(self)):
            value = getattr(self, name)
            if type(value) is int:
                force_setattr(self, name, float(value))

    def memo(self, name: str, compute: Callable[[], _T]) -> _T:
        """``compute()`` the first time ``name`` is asked for, the kept value afterwards."""
        memo: dict[str, Any] = self.__dict__.setdefault(_MEMO, {})
        if name not in memo:
            memo[name] = compute()
        value: _T = memo[name]
        return value


def _python(record: Struct) -> dict[str, Any]:
    """A record's fields as a dict, nested records as dicts; other values as they are."""
    return {name: _python_value(value) for name, value in msgspec.structs.asdict(record).items()}


def _python_value(value: Any) -> Any:
    if isinstance(value, Struct):
        return _python(value)
    if isinstance(value, tuple):
        return tuple(_python_value(v) for v in value)
    if isinstance(value, dict):
        return {k: _python_value(v) for k, v in value.items()}
    return value


#: A path's parts: ``.name``, ``[3]``, and ``[...]`` for a value in a table of any keys.
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")


def error_path(error: msgspec.ValidationError) -> tuple[str, str]:
    """Where a validation failed and why: ``("bindings.0.cost", "Expected `array`, got `int`")``."""
    problem, loc = split_error(str(error))
    return ".".join(map(str, loc)), problem


def split_error(message: str) -> tuple[str, tuple[str | int, ...]]:
    """msgspec's message of a failed validation as what is wrong and where.

    msgspec writes both in one message, the place last as a path from the
    root (``Expected `array`, got `int` - at `$.bindings[0].cost` ``): the
    place becomes ``("bindings", 0, "cost")``, empty when the root itself is
    wrong.  A value in a table of any keys shows as ``"..."``: msgspec does
    not say which key.
    """
    problem, at, path = message.rpartition(" - at `$")
    if not at:
        return message, ()
    loc = tuple(
        name or (index if index == "..." else int(index))
        for name, index in _PATH_PART.findall(path.rstrip("`"))
    )
    return problem, loc


@functools.cache
def _float_fields(cls: type[Struct]) -> tuple[str, ...]:
    """The fields of ``cls`` typed ``float`` (or ``float | None``, constrained or not)."""
    return tuple(field.name for field in msgspec.structs.fields(cls) if _is_float(field.type))


def _is_float(hint: object) -> bool:
    origin = typing.get_origin(hint)
    if origin is Annotated:
        return _is_float(typing.get_args(hint)[0])
    if origin in (typing.Union, types.UnionType):
        kinds = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return len(kinds) == 1 and _is_float(kinds[0])
    return hint is float
