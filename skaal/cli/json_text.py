"""The ``--json`` text of the commands: ``json.dumps(data, indent=2, sort_keys=True)``, faster.

The standard library's C encoder is used only without ``indent``; with it,
:mod:`json` falls back to a generator per nested value, and a 10,000-resource
``skaal plan --json`` (11 MB) spent more time there than in the solver.
:func:`dumps_indented` writes the same text, byte for byte, with one plain
recursive pass and the C string escaper; anything it does not know (a key
that is not a string, a value of another type) goes to :func:`json.dumps`,
so errors and rare shapes behave exactly as before.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from math import isnan
from typing import Any

__all__ = ["dumps_indented"]


class _UnusualError(Exception):
    """A key or value :func:`_write` leaves to :func:`json.dumps`."""


def dumps_indented(data: Any) -> str:
    """``json.dumps(data, indent=2, sort_keys=True)``, the same text."""
    parts: list[str] = []
    try:
        _write(data, "\n", parts)
    except (_UnusualError, RecursionError, TypeError):
        return json.dumps(data, indent=2, sort_keys=True)
    return "".join(parts)


def _float(value: float) -> str:
    if isnan(value):
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _null(_: object) -> str:
    return "null"


def _bool(value: object) -> str:
    return "true" if value else "false"


_INFINITY = float("inf")
_EXACT: dict[type, Any] = {
    str: encode_basestring_ascii,
    int: int.__repr__,
    float: _float,
    bool: _bool,
    type(None): _null,
}
"""The encoder of each plain scalar type (subclasses go through :func:`_scalar`)."""


def _scalar(value: object) -> str:
    """A subclass of a scalar type, encoded as :mod:`json` does."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if isinstance(value, int):  # bool is exact, handled by _EXACT
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise _UnusualError


def _write(value: object, newline: str, out: list[str]) -> None:
    """Append the text of ``value``; ``newline`` is a newline and the current indent."""
    exact = _EXACT.get(type(value))
    if exact is not None:
        out.append(exact(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        opener = "{" + inner
        for key in sorted(value):
            if not isinstance(key, str):
                raise _UnusualError
            item = value[key]
            exact = _EXACT.get(type(item))
            if exact is not None:
                out.append(opener + encode_basestring_ascii(key) + ": " + exact(item))
            else:
                out.append(opener + encode_basestring_ascii(key) + ": ")
                _write(item, inner, out)
            opener = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        opener = "[" + inner
        for item in value:
            exact = _EXACT.get(type(item))
            if exact is not None:
                out.append(opener + exact(item))
            else:
                out.append(opener)
                _write(item, inner, out)
            opener = "," + inner
        out.append(newline + "]")
    else:
        out.append(_scalar(value))
