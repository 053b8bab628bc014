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
  ``Infinity`` and ``NaN``: :func:`all_finite` looks for one.

Text in which any of these might be (a string holding ``0.0000`` or ``1e-``
is enough), or data orjson refuses (an integer beyond 64 bits, a key that is
not a string), is written by :func:`json.dumps`, as before.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
from msgspec import Struct
from msgspec.structs import astuple

__all__ = ["all_finite", "canonical_text"]

#: A digit then ``e-``: how orjson writes a float below 1e-7 (``1e-7``, ``2.5e-12``).
_SMALL_EXPONENT = re.compile(rb"e-(?<=[0-9]e-)")


def canonical_text(data: Any, *, finite: bool = False) -> str:
    """``json.dumps(data, sort_keys=True, separators=(",", ":"))``, the same text, faster.

    ``finite=True``: the caller knows ``data`` holds no infinity and no NaN
    (:func:`all_finite` said so of the parts that can hold a float), so that
    is not looked for again in the whole of it.
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


def _standard(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))
