"""Checking raw catalog data against a record type, every mistake collected.

``msgspec`` stops at the first field that does not fit and names it in one
message (``Expected `float`, got `str` - at `$.price.amount` ``).  A catalog
author wants every mistake of a file at once, so :func:`checked` takes the
faulty key out and checks again, until the data fits or the mistake is one
nothing further can be learned past (a missing key, the table itself).  Each
mistake becomes a :class:`SchemaError`: its kind, its place as a path of keys
and indexes, the value found there and the message, which
:mod:`skaal.catalog.validate` turns into a located problem with a fix.

Infinities and NaN are refused before the types are looked at: TOML can
write ``inf`` and ``nan``, and every number of a catalog must be finite.
"""

from __future__ import annotations

import functools
import math
import re
import typing
from typing import Any, Literal, TypeVar

import msgspec
from msgspec import Struct

from skaal.blueprint.record import split_error

__all__ = ["SchemaError", "checked"]

_R = TypeVar("_R", bound=Struct)

#: The most mistakes looked for in one table before giving up on it.
_MOST = 50

ErrorKind = Literal[
    "missing",
    "extra_forbidden",
    "literal_error",
    "string_pattern_mismatch",
    "too_short",
    "finite_number",
    "float_type",
    "int_type",
    "string_type",
    "tuple_type",
    "bool_type",
    "dict_type",
    "value_error",
]


class SchemaError(Struct, frozen=True):
    """One mistake: its kind, place, the value found there, msgspec's words, the choices."""

    kind: ErrorKind
    loc: tuple[str | int, ...]
    given: object
    message: str
    expected: tuple[str, ...] = ()
    """For ``literal_error``: the values the field accepts."""


_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")
_TYPE = re.compile(r"^Expected `(?P<want>[a-z]+)(?: \| null)?`, got `[^`]+`$")
_ENUM = re.compile(r"^Invalid enum value ")
_PATTERN = re.compile(r"^Expected `str` matching regex ")
_SHORT = re.compile(r"^Expected `(?:str|array)` of length >= ")
_TYPES: dict[str, ErrorKind] = {
    "float": "float_type",
    "int": "int_type",
    "str": "string_type",
    "array": "tuple_type",
    "bool": "bool_type",
    "object": "dict_type",
}
_BOUND = re.compile(r"^Expected `\w+` (?P<op>>=|<=|>|<) (?P<bound>\S+)$")
_BOUND_WORDS = {
    ">=": "greater than or equal to",
    ">": "greater than",
    "<=": "less than or equal to",
    "<": "less than",
}
_GOT = re.compile(r"got `(?P<got>[a-z]+)`")
#: The name msgspec gives the type of a value it got.
_TYPE_NAMES: dict[type, str] = {
    bool: "bool",
    int: "int",
    float: "float",
    str: "str",
    list: "array",
    tuple: "array",
    dict: "object",
    type(None): "null",
}


def checked(model: type[_R], data: dict[str, Any]) -> tuple[_R | None, list[SchemaError]]:
    """``data`` as a ``model`` record and no mistakes, or ``None`` and every mistake found."""
    errors = [
        SchemaError("finite_number", loc, value, "every number must be finite")
        for loc, value in _not_finite(data, ())
    ]
    seen = {error.loc for error in errors}
    for _ in range(_MOST):
        try:
            record = msgspec.convert(data, model, strict=True)
        except msgspec.ValidationError as exc:
            error = _error(model, data, str(exc))
            if error.loc not in seen:
                errors.append(error)
                seen.add(error.loc)
            if error.kind == "missing" or not error.loc:
                break
            data = _without(data, error.loc)
            continue
        return (record, []) if not errors else (None, errors)
    return None, errors


def _error(model: type[Struct], data: dict[str, Any], message: str) -> SchemaError:
    """msgspec's message as a :class:`SchemaError`."""
    problem, path = split_error(message)
    loc: tuple[str | int, ...] = ()
    for part in path:  # msgspec does not say which key "...": the first whose value it refused
        loc = (*loc, _refused_key(_at(data, loc), problem) if part == "..." else part)
    if found := _MISSING.match(problem):
        return SchemaError("missing", (*loc, found["name"]), None, problem)
    if found := _UNKNOWN.match(problem):
        name = found["name"]
        return SchemaError("extra_forbidden", (*loc, name), _at(data, (*loc, name)), problem)
    given = _at(data, loc)
    if found := _TYPE.match(problem):
        return SchemaError(_TYPES.get(found["want"], "value_error"), loc, given, problem)
    if _ENUM.match(problem):
        field = next((part for part in reversed(loc) if isinstance(part, str)), "")
        return SchemaError("literal_error", loc, given, problem, _choices(model).get(field, ()))
    if _PATTERN.match(problem):
        return SchemaError("string_pattern_mismatch", loc, given, problem)
    if _SHORT.match(problem):
        return SchemaError("too_short", loc, given, problem)
    if found := _BOUND.match(problem):
        words = f"Input should be {_BOUND_WORDS[found['op']]} {float(found['bound']):g}"
        return SchemaError("value_error", loc, given, words)
    return SchemaError("value_error", loc, given, problem)


def _refused_key(table: object, problem: str) -> str:
    """The first key of ``table`` holding a value of the type ``problem`` says it got."""
    got = _GOT.search(problem)
    if isinstance(table, dict) and got is not None:
        for key, value in table.items():
            if _TYPE_NAMES.get(type(value)) == got["got"]:
                return str(key)
    return "..."


def _at(data: Any, loc: tuple[str | int, ...]) -> object:
    """The value at ``loc`` in ``data``; ``None`` where there is none."""
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _without(data: Any, loc: tuple[str | int, ...]) -> Any:
    """``data`` with the entry at ``loc`` taken out (copies along the way; ``data`` is kept)."""
    head, rest = loc[0], loc[1:]
    if isinstance(data, dict):
        if not rest:
            return {k: v for k, v in data.items() if k != head}
        return {k: (_without(v, rest) if k == head else v) for k, v in data.items()}
    if isinstance(data, (tuple, list)) and isinstance(head, int):
        if not rest:
            return type(data)(v for i, v in enumerate(data) if i != head)
        return type(data)(_without(v, rest) if i == head else v for i, v in enumerate(data))
    return data


def _not_finite(data: Any, loc: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], float]]:
    if isinstance(data, float):
        return [] if math.isfinite(data) else [(loc, data)]
    if isinstance(data, dict):
        return [found for k, v in data.items() for found in _not_finite(v, (*loc, k))]
    if isinstance(data, (tuple, list)):
        return [found for i, v in enumerate(data) for found in _not_finite(v, (*loc, i))]
    return []


@functools.cache
def _choices(model: type[Struct]) -> dict[str, tuple[str, ...]]:
    """The values of each field typed by a ``Literal`` (or a tuple of one), all records down."""
    choices: dict[str, tuple[str, ...]] = {}
    pending: list[object] = [model]
    done: set[object] = set()
    while pending:
        cls = pending.pop()
        if cls in done or not (isinstance(cls, type) and issubclass(cls, Struct)):
            continue
        done.add(cls)
        for name, hint in typing.get_type_hints(cls).items():
            for part in _parts(hint):
                if typing.get_origin(part) is Literal:
                    choices[name] = tuple(str(value) for value in typing.get_args(part))
                else:
                    pending.append(part)
    return choices


def _parts(hint: object) -> list[object]:
    """``hint`` and every type inside it (unions, tuples, ``Annotated``...)."""
    if typing.get_origin(hint) is Literal:
        return [hint]
    found = [hint]
    for arg in typing.get_args(hint):
        found += _parts(arg)
    return found
