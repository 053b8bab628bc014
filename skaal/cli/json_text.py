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
:func:`echo_json_sections` goes further for a document whose top-level values
are large: each value is built, written and dropped before the next is built
(the plan of 100,000 resources as dicts is several hundred megabytes, and so
is its graph), with the same bytes as :func:`echo_json` of the whole.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import click
import orjson

__all__ = ["dumps_indented", "echo_json", "echo_json_sections"]

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def dumps_indented(data: Any) -> str:
    """``data`` as indented JSON text with sorted keys."""
    return _utf8(data).decode()


def echo_json(data: Any) -> None:
    """Write ``data`` to standard output as :func:`dumps_indented` text and a newline, in UTF-8."""
    _write(_utf8(data))
    _write(b"\n")


def echo_json_sections(sections: Mapping[str, Callable[[], Any]]) -> None:
    """:func:`echo_json` of ``{key: make() for key, make in sections.items()}``, a value at a time.

    The keys are written sorted, each key and value as the whole document
    writes them: the text of ``{key: value}`` without its braces (``{\n``
    and ``\n}``), which indents the value one level deeper in the same pass
    that writes it (replacing each newline of the value's own text by a
    newline and two spaces took another pass over it, 0.05 s of the 100 MB
    plan of 100,000 resources).
    """
    keys = sorted(sections)
    if not keys:
        echo_json({})
        return
    _write(b"{\n")
    for index, key in enumerate(keys):
        text = _utf8({key: sections[key]()})
        # a view without the braces, not a slice: that would copy the whole text
        # (100 MB of the plan of 100,000 resources) at the process's largest
        _write(memoryview(text)[2:-2])
        del text
        _write(b",\n" if index < len(keys) - 1 else b"\n")
    _write(b"}\n")


def _write(chunk: bytes | memoryview) -> None:
    binary = getattr(sys.stdout, "buffer", None)
    if binary is not None:
        # as click.echo writes bytes: the text stream flushed, then the bytes as they are
        sys.stdout.flush()
        binary.write(chunk)
        binary.flush()
    else:  # a text-only stream (io.StringIO in-process): text it is
        click.echo(bytes(chunk).decode(), nl=False)


def _utf8(data: Any) -> bytes:
    try:
        return orjson.dumps(data, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False).encode()
