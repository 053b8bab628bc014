"""The record of one declaration, as a decorator makes it, before modules are composed."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from skaal.blueprint.model import Kind, Requirements, SourceLocation

__all__ = ["Declaration"]

#: The ``extra`` of a declaration that has none: one shared, read-only mapping.
_NO_EXTRA: Mapping[str, Any] = MappingProxyType({})


class Declaration(NamedTuple):
    """One recorded declaration, before namespacing.

    A named tuple rather than a frozen dataclass: every declaration makes
    one, and a frozen dataclass's ``__init__`` sets each of its seven fields
    through ``object.__setattr__`` (about 2.5 times the cost of a tuple).
    """

    name: str
    kind: Kind
    target: object
    requirements: Requirements
    location: SourceLocation
    decorator: str
    extra: Mapping[str, Any] = _NO_EXTRA
