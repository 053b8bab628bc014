"""A tiny writer of Python source for the generated Pulumi programs.

The gcp program is generated as plain, readable Python: one constructor call
per resource, one keyword argument per line, literals rendered with
``repr``.  :class:`Code` marks a value that is an expression (a variable, an
attribute, an ``Output`` call) rather than a literal, so the renderer never
has to guess.  Nothing here knows about Google Cloud.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Code", "call", "py"]


@dataclass(frozen=True, slots=True)
class Code:
    """A Python expression, rendered as is."""

    text: str


def py(value: object, indent: int = 4) -> str:
    """``value`` as Python source: literals via ``repr``, :class:`Code` verbatim."""
    pad = " " * (indent + 4)
    end = " " * indent
    if isinstance(value, Code):
        return value.text
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = "".join(f"{pad}{k!r}: {py(v, indent + 4)},\n" for k, v in value.items())
        return "{\n" + items + end + "}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return "[]"
        items = "".join(f"{pad}{py(v, indent + 4)},\n" for v in value)
        return "[\n" + items + end + "]"
    return repr(value)


def call(
    target: str | None,
    constructor: str,
    logical_name: str,
    kwargs: Mapping[str, object],
    *,
    opts: str | None = None,
) -> str:
    """``target = constructor("logical_name", k=v, ..., opts=...)`` as source lines."""
    head = f"{target} = " if target else ""
    lines = [f"{head}{constructor}(", f"    {logical_name!r},"]
    lines += [f"    {key}={py(value)}," for key, value in kwargs.items()]
    if opts:
        lines.append(f"    opts={opts},")
    lines.append(")")
    return "\n".join(lines) + "\n"
