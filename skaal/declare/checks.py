"""Plan-time checks of what the declared functions would do on every request.

The decorators only record; the Blueprint is pure data.  Two mistakes are
invisible to both and would otherwise surface as a 500 on every request:

* **a function the server cannot call**: an HTTP function (``@app.function()``
  with ``http=True``) takes a JSON object of its parameters, validated by
  pydantic against their annotations, and answers its result serialised
  through its return annotation.  A parameter without an annotation, a
  ``*args``/``**kwargs`` or positional-only parameter, a hint that does not
  resolve, or a type pydantic cannot validate or describe in JSON Schema
  is refused here;
* **a resource the runtime will not bind**: a function that reads a
  ``Map``, ``Collection``, ``BlobStore``, ``Queue`` or ``Topic`` subclass
  the app never declared (no ``@app.storage`` ...).  The references are read
  from the function's byte code (:mod:`skaal.declare.uses`): global and
  closure names, ``module.Class`` attribute chains, and the same for nested
  functions, comprehensions, and the helper functions and class methods of
  the same module that it reaches.

:func:`check_app` runs between loading the app and building its Blueprint,
in ``skaal plan`` and ``skaal run``; the first problem is a
:class:`~skaal.errors.DeclarationError` saying what is wrong, at the user's
``file:line`` (the parameter, the ``def`` or the line using the resource),
and how to fix it.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from collections.abc import Callable, Iterator
from types import FunctionType
from typing import TYPE_CHECKING, Any

from msgspec import Struct

from skaal.blueprint.model import Kind, SourceLocation
from skaal.declare.introspect import display_name, object_ref
from skaal.declare.resources import Resource
from skaal.declare.uses import is_resource, loaded, visits
from skaal.errors import DeclarationError

if TYPE_CHECKING:
    from skaal.declare.app import App

__all__ = ["check_app"]

_RESOURCE_KINDS: frozenset[Kind] = frozenset({"map", "collection", "blob", "queue", "topic"})
_DECORATOR: dict[Kind, str] = {
    "map": "storage",
    "collection": "storage",
    "blob": "blob",
    "queue": "queue",
    "topic": "topic",
}
_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def check_app(app: App) -> None:
    """Raise a ``DeclarationError`` for the first function that would fail per request."""
    scoped = app._scoped()
    resources = [d.target for _, d, _ in scoped if d.kind in _RESOURCE_KINDS]
    declared_ids = {id(target) for target in resources}
    # By ``module:qualname`` too (a class object that is not the declared one
    # but has its name), built only when a function uses a class that is not
    # itself declared: at 100,000 resources the names cost 0.1 s.
    declared_refs: set[str] | None = None

    def is_declared(cls: type) -> bool:
        nonlocal declared_refs
        if id(cls) in declared_ids:
            return True
        if declared_refs is None:
            declared_refs = {object_ref(target) for target in resources}
        return object_ref(cls) in declared_refs

    types = _TypeCheck()
    for name, declared, _ in scoped:
        if declared.kind != "function" or not callable(declared.target):
            continue
        fn = inspect.unwrap(declared.target)
        extra = declared.extra
        served = (
            extra.get("http") is True
            and extra.get("schedule") is None
            and not extra.get("consumes")
            and not extra.get("subscribes")
        )
        if served:
            _check_signature(fn, name, declared.location, types)
        for use in _undeclared_uses(fn, is_declared):
            raise _undeclared(app, name, use, declared.location)


# -- signatures ----------------------------------------------------------------------


class _TypeCheck:
    """Whether pydantic can validate and describe a type; memoised per annotation."""

    def __init__(self) -> None:
        self._seen: dict[tuple[object, str], str | None] = {}

    def problem(
        self, annotation: object, mode: typing.Literal["validation", "serialization"]
    ) -> str | None:
        try:
            key: tuple[object, str] | None = (annotation, mode)
            hash(key)
        except TypeError:
            key = None
        if key is not None and key in self._seen:
            return self._seen[key]
        from pydantic import TypeAdapter  # noqa: PLC0415 - loaded for the first function checked, not with the app

        try:
            adapter: TypeAdapter[Any] = TypeAdapter(annotation)  # type: ignore[arg-type]
            adapter.json_schema(mode=mode)
            found = None
        except Exception as exc:  # pydantic raises several types; all mean "unsupported"
            found = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if key is not None:
            self._seen[key] = found
        return found


def _check_signature(
    fn: Callable[..., Any], name: str, location: SourceLocation, types: _TypeCheck
) -> None:
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise DeclarationError(
            f"the type hints of function {name} do not resolve: {type(exc).__name__}: {exc}",
            where=str(location),
            fix="define or import every type its annotations name, at module level",
        ) from None
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return  # a builtin or C function: nothing to read
    for param in signature.parameters.values():
        if param.kind not in _NAMED:
            raise DeclarationError(
                f"function {name} takes {param}, which cannot come from a JSON object",
                where=_at(fn, param.name, location),
                fix="use named parameters, or declare it with @app.function(http=False)",
            )
        if param.name not in hints:
            raise DeclarationError(
                f"parameter {param.name!r} of function {name} has no type annotation",
                where=_at(fn, param.name, location),
                fix=f"annotate it, e.g. {param.name}: str; requests are validated against it "
                f"({param.name}: Any accepts any JSON value)",
            )
        problem = types.problem(hints[param.name], "validation")
        if problem is not None:
            raise DeclarationError(
                f"parameter {param.name!r} of function {name} has a type a JSON request "
                f"cannot carry: {problem}",
                where=_at(fn, param.name, location),
                fix="use JSON types (str, int, float, bool, list, dict, None) or a pydantic model",
            )
    if "return" not in hints:
        raise DeclarationError(
            f"function {name} has no return annotation",
            where=_at(fn, None, location),
            fix="annotate what it returns, e.g. -> dict[str, int] or -> None; the answer is "
            "serialised through it",
        )
    problem = types.problem(hints["return"], "serialization")
    if problem is not None:
        raise DeclarationError(
            f"function {name} returns a type that cannot be answered as JSON: {problem}",
            where=_at(fn, None, location),
            fix="return JSON types (str, int, float, bool, list, dict, None) or a pydantic model",
        )


def _at(fn: Callable[..., Any], parameter: str | None, fallback: SourceLocation) -> str:
    """Where ``parameter`` (or, for ``None``, the ``def``) of ``fn`` is written.

    Read from the source only when there is an error to report.
    """
    return str(_line_of(fn, parameter) or fallback)


def _line_of(fn: Callable[..., Any], parameter: str | None) -> SourceLocation | None:
    try:
        lines, start = inspect.getsourcelines(fn)
        file = inspect.getsourcefile(fn)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError):
        return None
    if file is None:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            line = node.lineno
            if parameter is not None:
                args = node.args
                every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
                every += [a for a in (args.vararg, args.kwarg) if a is not None]
                line = next((a.lineno for a in every if a.arg == parameter), line)
            return SourceLocation(file=file, line=start + line - 1)
    return None


# -- resources -------------------------------------------------------------------------


class _Use(Struct, frozen=True):
    """A resource class read by a function, and where."""

    cls: type[Resource]
    file: str
    line: int | None
    via: str | None
    """The helper function the use is in, if not the declared function itself."""


def _undeclared_uses(fn: Callable[..., Any], is_declared: Callable[[type], bool]) -> Iterator[_Use]:
    """Every undeclared resource subclass ``fn`` (or a same-module helper it calls) uses.

    The walk (:func:`skaal.declare.uses.visits`) lists the resources each
    function's names reach; only a function reaching an undeclared one has
    its instructions read, for the exact lines.
    """
    if not isinstance(fn, FunctionType):
        return
    for visit in visits(fn):
        if all(is_declared(cls) for cls in visit.resources):
            continue
        for obj, line in loaded(visit):
            if is_resource(obj) and not is_declared(obj):
                yield _Use(obj, visit.function.__code__.co_filename, line, visit.via)


def _undeclared(app: App, function: str, use: _Use, location: SourceLocation) -> DeclarationError:
    cls = use.cls
    kind: Kind = cls.__skaal_kind__
    decorator = _DECORATOR.get(kind, "storage")
    through = f" (in {use.via}, which it calls)" if use.via else ""
    where = SourceLocation(file=use.file, line=use.line) if use.line else location
    return DeclarationError(
        f"function {function} uses {display_name(cls)}{through}, a {kind} that app "
        f"{app.name!r} does not declare",
        where=str(where),
        fix=f"put @app.{decorator}(...) above class {display_name(cls)}{_defined_at(cls)} "
        "(or on a Module the app uses)",
    )


def _defined_at(cls: type) -> str:
    try:
        file = inspect.getsourcefile(cls)
        _, line = inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return ""
    return f" ({file}:{line})" if file else ""
