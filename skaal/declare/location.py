"""Where the user wrote a declaration: the ``file:line`` of a stack frame.

Errors raised while a declaration is recorded name the user's ``file:line``.
Decorators know their depth exactly and call :func:`frame_location` on that
frame; value objects such as ``Cron`` or ``Secret`` can be built by the user
directly or by a helper such as ``app.secret(...)``, so :func:`user_location`
walks up the stack past this package's own frames instead (those records are
``msgspec`` structs, whose ``__init__`` is compiled code with no frame of its
own; their ``__post_init__`` is one of this package's frames).

The line is not read from ``frame.f_lineno``: on CPython 3.11 that decodes
the code object's line table from its start up to the frame's instruction,
so in an app module of ``n`` declarations each look-up costs O(n) and the
import O(n²) (10,000 declarations took 11 s).  Instead :func:`frame_line`
builds the table of ``code.co_lines()`` once per code object and bisects it
by the frame's instruction offset ``f_lasti``: O(log n) per declaration,
with the same answer ``f_lineno`` gives when no tracer is running.  A table
is kept only while its code object is alive (a module's code object dies once
its import is done), so the cache never outgrows the code that is running.
"""

from __future__ import annotations

import os
import sys
import weakref
from bisect import bisect_right
from types import CodeType, FrameType

from skaal.blueprint.model import SourceLocation

__all__ = ["frame_line", "frame_location", "user_location"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class _LineTable:
    """The lines of one code object's byte code, by offset.

    ``starts[i]`` is the first byte offset of a run of instructions on line
    ``lines[i]`` (``None`` for instructions with no line); the runs are
    consecutive and cover the whole byte code, as ``co_lines()`` promises.
    An empty range shares its start with the next range, which the bisection
    below prefers, so empty ranges need no special case.
    """

    __slots__ = ("lines", "starts")

    def __init__(self, code: CodeType) -> None:
        self.starts: list[int] = []
        self.lines: list[int | None] = []
        add_start, add_line = self.starts.append, self.lines.append
        previous: int | None = -1
        for start, _, line in code.co_lines():
            if line != previous:
                add_start(start)
                add_line(line)
                previous = line

    def line_at(self, offset: int) -> int | None:
        index = bisect_right(self.starts, offset) - 1
        return self.lines[index] if index >= 0 else None


#: id(code) -> (a weak reference to the code, its table).  Keyed by identity:
#: hashing a code object hashes its constants, which is O(size) on every call.
_TABLES: dict[int, tuple[weakref.ref[CodeType], _LineTable]] = {}


def _forget(key: int, ref: weakref.ref[CodeType]) -> None:
    entry = _TABLES.get(key)
    if entry is not None and entry[0] is ref:
        del _TABLES[key]


def _table(code: CodeType) -> _LineTable:
    key = id(code)
    entry = _TABLES.get(key)
    if entry is not None and entry[0]() is code:
        return entry[1]
    table = _LineTable(code)
    ref = weakref.ref(code, lambda dead: _forget(key, dead))
    _TABLES[key] = (ref, table)
    return table


def frame_line(frame: FrameType) -> int:
    """The line ``frame`` is executing, as ``frame.f_lineno`` says, in O(log n).

    An instruction with no line (where ``f_lineno`` is ``None``) reads as the
    first line of its code, so a location always has a line.
    """
    code = frame.f_code
    offset = frame.f_lasti
    if offset < 0:  # not started yet
        return code.co_firstlineno
    line = _table(code).line_at(offset)
    return code.co_firstlineno if line is None else line


def frame_location(frame: FrameType) -> SourceLocation:
    """The ``file:line`` that ``frame`` is executing."""
    return SourceLocation(file=frame.f_code.co_filename, line=frame_line(frame))


def user_location() -> SourceLocation:
    """The location of the innermost caller that is not part of ``skaal.declare``."""
    frame = sys._getframe(1)
    while frame.f_back is not None:
        code = frame.f_code
        if os.path.dirname(os.path.abspath(code.co_filename)) != _PACKAGE_DIR:
            break
        frame = frame.f_back
    return frame_location(frame)
