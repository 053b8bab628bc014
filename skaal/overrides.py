"""Override hooks: change the arguments of the cloud resources a build generates.

A project may keep a module of hooks, ``skaal_overrides.py`` next to its
``pyproject.toml`` (or the file ``[tool.skaal] overrides = "..."`` names).
Each hook is a function decorated with :func:`override`, naming the Skaal
resources (``"Carts"``, ``"billing.Invoices"``) and/or the Pulumi type
(``"aws:dynamodb/table:Table"``) whose resources it changes::

    from skaal.overrides import ResourceArgs, override

    @override("Carts")
    def carts(args: ResourceArgs) -> None:
        args.props["tags"] = {"team": "checkout"}

``skaal build`` imports the module (a mistake in it is a
:class:`~skaal.errors.BuildError` at the build, with its ``file:line``),
checks that every name is a resource of the plan, and copies it next to the
generated Pulumi program.  The program loads it with :func:`install`, which
registers one stack transformation: before Pulumi registers a resource, every
hook that matches it receives a :class:`ResourceArgs` -- its Skaal resource,
Pulumi name, type and arguments -- and may change ``props`` in place.  A
hook that raises stops the deployment with a
:class:`~skaal.errors.DeployError` naming the hook and the resource.

Which resources belong to a Skaal resource: the one whose Pulumi name is the
resource's name (the table, the bucket, the queue, the function) and every
companion named ``<name>-<suffix>`` (a bucket's ``-sse`` encryption, a
queue's ``-dlq``).  ``props`` holds the arguments as the program passed them
to the resource's constructor, by their Python names (``billing_mode``,
``bucket_prefix``); a value only known at deploy time is a Pulumi
``Output``.

The transformation runs in the program's own process (Pulumi's in-process
stack transformations), so it works the same under ``pulumi up`` and under
Pulumi's unit-test mocks.  This module imports Pulumi only in
:func:`install`: a hooks module and the build need only Skaal.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from msgspec import Struct

from skaal.errors import BuildError, DeployError, did_you_mean

__all__ = [
    "OVERRIDES_FILE",
    "Hook",
    "ResourceArgs",
    "check_hooks",
    "install",
    "load_hooks",
    "override",
]

OVERRIDES_FILE = "skaal_overrides.py"
"""The hooks module's default name, next to ``pyproject.toml``; also its name in an artifact."""

_ATTRIBUTE = "__skaal_override__"

F = TypeVar("F", bound=Callable[..., Any])


class ResourceArgs(Struct):
    """One generated resource, as a hook sees it; change ``props`` in place."""

    resource: str | None
    """The Skaal resource it belongs to; ``None`` for a shared one (a VPC, an API)."""
    name: str
    """Its Pulumi logical name."""
    type: str
    """Its Pulumi type token, e.g. ``aws:dynamodb/table:Table``."""
    props: dict[str, Any]
    """The constructor's arguments by Python name."""


class Hook(Struct, frozen=True):
    """One decorated function and what it applies to."""

    function: Callable[[ResourceArgs], object]
    resources: tuple[str, ...]
    type: str | None
    where: str
    """``file:line`` of the function."""

    def matches(self, args: ResourceArgs) -> bool:
        if self.type is not None and self.type != args.type:
            return False
        return not self.resources or args.resource in self.resources


def override(*resources: str, type: str | None = None) -> Callable[[F], F]:
    """Mark a function as a hook for ``resources`` (Skaal names), of ``type`` if given.

    At least one of them is needed: a hook for every resource of the stack
    is written with ``type=``.
    """
    where = _caller_location()
    if not resources and type is None:
        raise BuildError(
            "@override() names no resource and no type",
            where=where,
            fix='name the Skaal resources, e.g. @override("Carts"), or a Pulumi type with type=',
        )
    for name in (*resources, type):
        if name is not None and (not isinstance(name, str) or not name):
            raise BuildError(
                f"@override takes resource names and a type as text, got {name!r}",
                where=where,
                fix='write @override("Carts") or @override(type="aws:s3/bucket:Bucket")',
            )

    def mark(function: F) -> F:
        if not callable(function):
            raise BuildError(
                f"@override decorates {function!r}, which is not a function",
                where=where,
                fix="put @override(...) directly above a def",
            )
        hook = Hook(function, tuple(resources), type, _function_location(function, where))
        setattr(function, _ATTRIBUTE, hook)
        return function

    return mark


def load_hooks(path: Path) -> tuple[Hook, ...]:
    """Import the hooks module at ``path``; its hooks in the order they are defined."""
    name = f"_skaal_overrides_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BuildError(
            f"cannot load the overrides module {path.name}",
            where=str(path),
            fix="give it a .py name",
        )
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except BuildError:
        raise
    except SyntaxError as exc:
        raise BuildError(
            f"the overrides module does not parse: {exc.msg}",
            where=f"{exc.filename or path}:{exc.lineno}",
            fix="correct the syntax",
        ) from None
    except Exception as exc:  # the user's module: any failure is theirs to fix
        raise BuildError(
            f"importing the overrides module failed: {type(exc).__name__}: {exc}",
            where=_user_frame(exc, path),
            fix="make the module importable on its own (python " + str(path) + ")",
        ) from None
    finally:
        sys.modules.pop(name, None)
    hooks = [v for v in vars(module).values() if isinstance(getattr(v, _ATTRIBUTE, None), Hook)]
    return tuple(getattr(v, _ATTRIBUTE) for v in hooks)


def check_hooks(hooks: Iterable[Hook], resources: Iterable[str]) -> None:
    """A :class:`BuildError` for a hook naming a resource the plan does not have."""
    known = sorted(resources)
    for hook in hooks:
        for name in hook.resources:
            if name not in known:
                raise BuildError(
                    f"override {hook.function.__name__} names resource {name!r}, which the "
                    f"plan does not have{did_you_mean(name, known)}",
                    where=hook.where,
                    fix=f"name one of the app's resources: {', '.join(known) or 'none'}",
                )


def _owner(name: str, resources: Iterable[str]) -> str | None:
    """The Skaal resource a Pulumi resource called ``name`` belongs to (longest match)."""
    best: str | None = None
    for resource in resources:
        if (name == resource or name.startswith(resource + "-")) and (
            best is None or len(resource) > len(best)
        ):
            best = resource
    return best


def install(path: Path, resources: Iterable[str]) -> tuple[Hook, ...]:
    """Load the hooks at ``path`` and register them with the running Pulumi program."""
    import pulumi  # noqa: PLC0415 - only a running Pulumi program needs it; builds and hooks modules do not

    names = tuple(sorted(resources))
    try:
        hooks = load_hooks(path)
        check_hooks(hooks, names)
    except BuildError as exc:
        raise DeployError(exc.what, where=exc.where, fix=exc.fix) from None

    def transform(
        args: pulumi.ResourceTransformationArgs,
    ) -> pulumi.ResourceTransformationResult | None:
        seen = ResourceArgs(_owner(args.name, names), args.name, args.type_, dict(args.props))
        matched = [hook for hook in hooks if hook.matches(seen)]
        for hook in matched:
            try:
                hook.function(seen)
            except Exception as exc:  # the user's hook: any failure is theirs to fix
                raise DeployError(
                    f"override {hook.function.__name__} failed on {seen.name} ({seen.type}): "
                    f"{type(exc).__name__}: {exc}",
                    where=hook.where,
                    fix="correct the hook; it may only change args.props",
                ) from None
        if not matched:
            return None
        return pulumi.ResourceTransformationResult(seen.props, args.opts)

    pulumi.runtime.register_stack_transformation(transform)
    return hooks


def _caller_location() -> str:
    frame = sys._getframe(2)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _function_location(function: Callable[..., Any], fallback: str) -> str:
    code = getattr(function, "__code__", None)
    return f"{code.co_filename}:{code.co_firstlineno}" if code is not None else fallback


def _user_frame(exc: BaseException, path: Path) -> str:
    """The innermost ``file:line`` of ``exc`` in the user's module, else the module."""
    found = str(path)
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            found = f"{frame.filename}:{frame.lineno}"
    return found
