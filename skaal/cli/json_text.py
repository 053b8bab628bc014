"""The ``--json`` text of the commands: indented two spaces, keys sorted, UTF-8.

The standard library's C encoder is used only without ``indent``; with it,
:mod:`json` falls back to a generator per nested value, and a 10,000-resource
``skaal plan --json`` (15 MB) spent more time there than in the solver.
orjson writes the same document (keys sorted, two-space indent) in compiled
code.  What orjson refuses (an integer beyond 64 bits, a key it cannot turn
into a string) goes to :func:`json.dumps`, whose errors are the familiar ones.
Non-ASCII text is written as is, as a terminal and ``jq`` expect.

:func:`echo_json` writes orjson's UTF-8 bytes to standard output as they are:
decoding them to text and letting the text stream encode it again made two
more copies of the whole document (160 MB each for the ``skaal plan --json``
of 100,000 resources) at the moment the process is largest.
"""

from __future__ import annotations

import json
from typing import Any

import click
import orjson

__all__ = ["dumps_indented", "echo_json"]

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps_indented(data: Any) -> str:
    """``data`` as indented JSON text with sorted keys."""
    return _utf8(data).decode()


def echo_json(data: Any) -> None:
    """Write ``data`` to standard output as :func:`dumps_indented` text and a newline, in UTF-8."""
    # bytes with nl=False: click flushes the text stream and writes them as they are
    click.echo(_utf8(data), nl=False)
    click.echo(b"\n", nl=False)


def _utf8(data: Any) -> bytes:
    try:
        return orjson.dumps(data, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).encode()
