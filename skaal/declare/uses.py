"""Which resource classes a function's code reaches, read from its byte code.

One walk serves two stages: the plan-time check of undeclared resources
(:mod:`skaal.declare.checks`) and the ``uses`` a function records in the
Blueprint (which the cloud targets scope each function's permissions to).

The walk starts at the declared function and follows what its code names:

* global and closure names, and ``module.attr`` attribute chains, that are
  :class:`~skaal.declare.resources.Resource` subclasses -- the uses;
* helper functions of the same module, and the methods of classes of the
  same module, followed in turn (with nested functions, lambdas and
  comprehensions of each).

It is cheap: a pass over each function's names (``co_names``, free
variables), with no instruction read; :func:`loaded` reads the instructions
only when the exact lines are wanted (for an error message).  A resource
reached some other way -- through a helper of another module, an object
passed in, a name built at run time -- is not seen.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import typing
from collections.abc import Callable, Iterable, Iterator
from types import CodeType, FunctionType, ModuleType
from typing import Any, Protocol

from msgspec import Struct

from skaal.declare.introspect import display_name, object_ref
from skaal.declare.resources import BlobStore, Collection, Map, Queue, Resource, Topic

__all__ = ["Declared", "Visit", "is_resource", "loaded", "resources_used", "visits"]

_BASES: frozenset[type] = frozenset({Resource, Map, Collection, BlobStore, Queue, Topic})
_LOADS = frozenset({"LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_CLASSDEREF"})
_ATTRS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})


class Walked(Protocol):
    """What the walk reads of a function it reached (a :class:`~types.FunctionType`).

    The field of :class:`Visit` is typed by this protocol, not by
    ``FunctionType``: mypy takes a ``FunctionType`` field of a
    ``msgspec.Struct`` for a method, bound on access.
    """

    @property
    def __code__(self) -> CodeType: ...

    @property
    def __globals__(self) -> dict[str, Any]: ...


class Visit(Struct, frozen=True):
    """One function the walk reached, and the resource classes its names reach."""

    function: Walked
    via: str | None
    """The helper (or method) this is, if not the declared function itself."""
    closure: dict[str, object]
    codes: list[CodeType]
    resources: tuple[type[Resource], ...]


class Declared:
    """The declared resource classes of an app, to name what a function uses."""

    def __init__(self, declared: Iterable[tuple[str, object]]) -> None:
        self._by_id: dict[int, set[str]] = {}
        self._by_ref: dict[str, set[str]] = {}
        for name, cls in declared:
            self._by_id.setdefault(id(cls), set()).add(name)
            self._by_ref.setdefault(object_ref(cls), set()).add(name)
        self._every = tuple(sorted({n for names in self._by_id.values() for n in names}))

    def uses(self, fn: object, *, triggers: Iterable[str] = ()) -> tuple[str, ...]:
        """The sorted names of the declared resources ``fn`` uses, with its ``triggers``.

        Every declared resource when ``fn``'s code cannot be read.
        """
        found = resources_used(inspect.unwrap(fn)) if callable(fn) else None
        if found is None:
            return self._every
        names = set(triggers)
        for cls in found:
            names |= self._by_id.get(id(cls)) or self._by_ref.get(object_ref(cls), set())
        return tuple(sorted(names))


def is_resource(obj: object) -> typing.TypeGuard[type[Resource]]:
    """Whether ``obj`` is a user's resource class (not one of skaal's bases)."""
    return isinstance(obj, type) and issubclass(obj, Resource) and obj not in _BASES


def resources_used(fn: Callable[..., Any]) -> tuple[type[Resource], ...] | None:
    """The resource classes ``fn`` (with what it follows) reaches; ``None`` if unreadable.

    ``None`` means ``fn`` is not a Python function (a builtin, a callable
    object): its uses cannot be determined.
    """
    if not isinstance(fn, FunctionType):
        return None
    found: dict[int, type[Resource]] = {}
    for visit in visits(fn):
        for cls in visit.resources:
            found.setdefault(id(cls), cls)
    return tuple(found.values())


def visits(fn: FunctionType) -> Iterator[Visit]:
    """``fn`` and every same-module helper or method it reaches, each once."""
    module = fn.__module__
    pending: list[tuple[FunctionType, str | None]] = [(fn, None)]
    visited: set[int] = set()
    while pending:
        current, via = pending.pop()
        if id(current.__code__) in visited:
            continue
        visited.add(id(current.__code__))
        closure = _closure(current)
        codes = _codes(current.__code__)
        names = {name for code in codes for name in code.co_names}
        resources: list[type[Resource]] = []
        for name in sorted(names | closure.keys()):
            obj = closure[name] if name in closure else current.__globals__.get(name)
            if is_resource(obj):
                resources.append(obj)
            elif isinstance(obj, FunctionType) and obj.__module__ == module:
                pending.append((obj, via or display_name(obj)))
            elif isinstance(obj, type) and obj.__module__ == module:
                pending += [(m, via or display_name(m)) for m in _methods(obj)]
            elif isinstance(obj, ModuleType):
                reached = (getattr(obj, attr, None) for attr in sorted(names))
                resources += [r for r in reached if is_resource(r)]
        yield Visit(current, via, closure, codes, tuple(resources))


def _methods(cls: type) -> list[FunctionType]:
    """The functions defined in ``cls``'s body: methods, static and class methods."""
    out: list[FunctionType] = []
    for value in vars(cls).values():
        target = value.__func__ if isinstance(value, staticmethod | classmethod) else value
        if isinstance(target, FunctionType):
            out.append(target)
    return out


def _codes(code: CodeType) -> list[CodeType]:
    """``code`` and every code object nested in it (functions, lambdas, comprehensions)."""
    found, pending = [], [code]
    while pending:
        current = pending.pop()
        found.append(current)
        pending += [c for c in current.co_consts if isinstance(c, CodeType)]
    return found


def _closure(fn: FunctionType) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
        try:
            values[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    return values


def loaded(visit: Visit) -> Iterator[tuple[object, int | None]]:
    """The objects ``visit``'s code loads by name or as ``module.attr``, with their lines."""
    globals_ = visit.function.__globals__
    for code in visit.codes:
        previous: object = None
        for instruction in dis.get_instructions(code):
            name = instruction.argval
            line = instruction.positions.lineno if instruction.positions else None
            if instruction.opname in _LOADS and isinstance(name, str):
                if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                    obj = globals_.get(name, getattr(builtins, name, None))
                else:
                    obj = visit.closure.get(name)
            elif (
                instruction.opname in _ATTRS
                and isinstance(previous, ModuleType)
                and isinstance(name, str)
            ):
                obj = getattr(previous, name, None)
            else:
                previous = None
                continue
            previous = obj
            yield obj, line
