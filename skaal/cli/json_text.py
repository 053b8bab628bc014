"""The ``--json`` text of the commands: indented two spaces, keys sorted, UTF-8.

The standard library's C encoder is used only without ``indent``; with it,
:mod:`json` falls back to a generator per nested value, and a 10,000-resource
``skaal plan --json`` (15 MB) spent more time there than in the solver.
orjson writes the same document (keys sorted, two-space indent) in compiled
code.  What orjson refuses (an integer beyond 64 bits, a key it cannot turn
into a string) goes to :func:`json.dumps`, whose errors are the familiar ones.
Non-ASCII text is written as is, as a terminal and ``jq`` expect.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps_indented"]

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps_indented(data: Any) -> str:
    """``data`` as indented JSON text with sorted keys."""
    try:
        return orjson.dumps(data, option=_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
