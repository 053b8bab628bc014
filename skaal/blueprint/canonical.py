"""The canonical JSON text that content hashes are taken of, written fast.

The Blueprint, Catalog and Plan hash ``json.dumps(data, sort_keys=True,
separators=(",", ":"))`` of their dumps.  Those hashes are recorded in locks
and build manifests, so the text may never change by a byte; but the
standard library's encoder spends most of a 10,000-resource plan's hashing
time (5 MB of text each for the Blueprint and the Plan: about 0.1 s apiece
against about 0.015 s for orjson).  :func:`canonical_text` has orjson write
the text and keeps it only when it is provably the same text:

* orjson and :mod:`json` sort keys the same way and write the same
  separators, strings and integers, as long as the text is ASCII (``json``
  escapes every other character, and DEL, as ``\\uXXXX``; orjson writes
  them as they are);
* they write a float the same way (the shortest text that reads back as the
  same float, as :func:`repr`) except below 1e-4, where :func:`repr` writes
  ``1e-05`` and orjson ``0.00001`` or ``1e-7``: such a float shows in
  orjson's text as ``0.0000`` or as a digit followed by ``e-``;
* orjson writes infinities and NaN as ``null`` where :mod:`json` writes
  ``Infinity`` and ``NaN``: :func:`all_finite` looks for one in the data,
  or :func:`records_finite` in the record it was dumped from, a field at a
  time (the plan of 100,000 resources: 0.1 s, against 1.25 s for
  :func:`all_finite` of its dump).

Text in which any of these might be (a string holding ``0.0000`` or ``1e-``
is enough), or data orjson refuses (an integer beyond 64 bits, a key that is
not a string), is written by :func:`json.dumps`, as before.
"""

from __future__ import annotations

import functools
import json
import math
import operator
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import Annotated, Any, Literal, NamedTuple

import orjson
from msgspec import Struct
from msgspec.structs import astuple, fields

__all__ = ["all_finite", "canonical_pieces", "canonical_text", "records_finite"]

#: A digit then ``e-``: how orjson writes a float below 1e-7 (``1e-7``, ``2.5e-12``).
_SMALL_EXPONENT = re.compile(rb"e-(?<=[0-9]e-)")


def canonical_text(data: Any, *, finite: bool = False) -> str:
    """``json.dumps(data, sort_keys=True, separators=(",", ":"))``, the same text, faster.

    ``finite=True``: the caller knows ``data`` holds no infinity and no NaN
    (:func:`records_finite` said so of the record it was dumped from), so
    that is not looked for again in the whole of it.
    """
    try:
        fast = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except (orjson.JSONEncodeError, TypeError):
        return _standard(data)
    if (
        fast.isascii()
        and b"\x7f" not in fast
        and b"0.0000" not in fast
        and _SMALL_EXPONENT.search(fast) is None
        and (finite or all_finite(data))
    ):
        return fast.decode("ascii")
    return _standard(data)


def canonical_pieces(
    head: dict[str, Any], key: str, chunks: Iterable[list[Any]], *, finite: bool = False
) -> Iterator[bytes]:
    """The text of :func:`canonical_text` of ``head`` with ``head[key]`` the items of
    every chunk in turn (one list), as ASCII bytes in pieces: a chunk's items are never
    all held as text at once.

    Without indentation, the text of a value does not depend on where it sits, so
    the text of the whole is the texts of its parts in order: each key of ``head``
    (sorted), and for ``key`` the items of each chunk, written by
    :func:`canonical_text` (which falls back to :mod:`json` for a chunk, or a
    value, orjson cannot be trusted with).  A content hash taken over the pieces
    is the hash of the whole text; a blueprint of 100,000 resources held 58 MB of
    it, and the dicts it was written from, for a moment.  ``finite`` as for
    :func:`canonical_text`, of everything.
    """
    yield b"{"
    for index, name in enumerate(sorted({*head, key})):
        yield (b"," if index else b"") + json.dumps(name).encode("ascii") + b":"
        if name != key:
            yield canonical_text(head[name], finite=finite).encode("ascii")
            continue
        yield b"["
        written = False
        for chunk in chunks:
            if chunk:
                text = canonical_text(chunk, finite=finite).encode("ascii")
                yield (b"," if written else b"") + text[1:-1]
                written = True
        yield b"]"
    yield b"}"


def all_finite(data: Any) -> bool:
    """No infinity or NaN anywhere in ``data``: dicts, lists, tuples and records of values."""
    pending = [data]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                return False
        elif kind is dict:
            pending.extend(value.values())
        elif kind is list or kind is tuple:
            pending.extend(value)
        elif isinstance(value, Struct):
            pending.extend(astuple(value))
    return True


def records_finite(record: Struct) -> bool:
    """No infinity or NaN in ``record`` and the records it holds, read a field at a time.

    :func:`all_finite` of the record, in C where it counts: the records are
    walked a class at a time, and each field that may hold a float (by its
    type) is summed over all the records of its class (``None`` left out).
    A sum is finite only if every term is (an infinity stays one or meets
    its opposite as NaN, and NaN spreads); a finite sum of finite terms may
    overflow, which only sends the caller to the slower way.  Fields typed
    as text, integers, flags or literals are not looked at: records from
    outside are validated against those types (:meth:`Record.model_validate
    <skaal.blueprint.record.Record.model_validate>`), and code building
    records is type-checked.  A value its type does not allow met on the way
    (text in a float field, a number where a record should be) has the whole
    record looked at by :func:`all_finite`.
    """
    pending: list[list[Any]] = [[record]]
    try:
        while pending:
            for kind, members in _by_class(pending.pop()):
                layout = _layout(kind)
                for get in layout.floats:
                    if not math.isfinite(sum(filter(_HELD, map(get, members)), 0.0)):
                        return False
                for get in layout.others:
                    if not all_finite(list(map(get, members))):
                        return False
                pending += (list(filter(_HELD, map(get, members))) for get in layout.records)
                pending += (
                    list(chain.from_iterable(filter(_HELD, map(get, members))))
                    for get in layout.tuples
                )
    except (TypeError, OverflowError):
        return all_finite(record)
    return True


#: True of a value that is not ``None``.
_HELD: Callable[[object], bool] = functools.partial(operator.is_not, None)
_Get = Callable[[Any], Any]


class _Layout(NamedTuple):
    """The fields of a record class that may hold a float, by what they hold."""

    floats: tuple[_Get, ...]
    """A number (a float, perhaps an integer) or ``None``."""
    records: tuple[_Get, ...]
    """A record or ``None``."""
    tuples: tuple[_Get, ...]
    """A tuple of records, or ``None``."""
    others: tuple[_Get, ...]
    """Anything else (a dict of numbers, records of several classes): looked at whole."""


def _by_class(members: list[Any]) -> list[tuple[type, list[Any]]]:
    kinds = set(map(type, members))
    if len(kinds) == 1:
        return [(kinds.pop(), members)]
    return [(kind, [m for m in members if type(m) is kind]) for kind in kinds]


@functools.cache
def _layout(kind: type) -> _Layout:
    """Where a record of class ``kind`` may hold a float; ``TypeError`` if it is no record."""
    held = [(_holds(field.type), operator.attrgetter(field.name)) for field in fields(kind)]
    return _Layout(
        *(tuple(get for holds, get in held if holds == name) for name in _Layout._fields)
    )


_Holds = Literal["nothing", "floats", "records", "tuples", "others"]
#: Types that hold no float.
_PLAIN: tuple[object, ...] = (str, int, bool, types.NoneType)


def _holds(hint: object) -> _Holds:
    """What a field of type ``hint`` holds, as far as floats go (see :class:`_Layout`)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is Annotated:
        return _holds(args[0])
    if origin is Literal:
        return "nothing" if all(type(arg) in _PLAIN for arg in args) else "others"
    if origin in (typing.Union, types.UnionType):
        held = {_holds(arg) for arg in args if arg is not types.NoneType}
        if held <= {"nothing"}:
            return "nothing"
        plain = [arg for arg in args if arg is not types.NoneType]
        if len(plain) == 1 or all(arg in (float, int, bool) for arg in plain):
            return held.pop() if len(held) == 1 else "floats"
        return "others"
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            inner = _holds(args[0])
            return "nothing" if inner == "nothing" else "tuples" if inner == "records" else "others"
        return "nothing" if all(_holds(arg) == "nothing" for arg in args) else "others"
    if origin is dict:
        return "nothing" if all(_holds(arg) == "nothing" for arg in args) else "others"
    if hint is float:
        return "floats"
    if hint in _PLAIN:
        return "nothing"
    if isinstance(hint, type) and issubclass(hint, Struct):
        return "records"
    return "others"


def _standard(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
