"""Shared support for running a generated Pulumi program under Pulumi's mocks.

Each cloud's helpers (:mod:`tests.builder.aws_support`, :mod:`tests.builder.gcp_mocks`)
keep their own ``Mocks`` (the outputs a cloud would compute) and their own
way of executing the program; what is the same lives here: the record of
what a program registered (:class:`Run`), the mocks on an event loop of their
own, torn down in order (:func:`mocked`), the ``protect`` /
``retain_on_delete`` / ``ignore_changes`` options seen through a stack transformation
(:func:`capture_options`, since the mocks do not receive options), the build
context of an example (:func:`example_context`) and writing an artifact set
to a folder (:func:`write`).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import Mocks
from pulumi.runtime.mocks import MockMonitor

from skaal.blueprint.model import Blueprint
from skaal.builder.model import ArtifactSet, BuildContext
from skaal.builder.sources import read_app_sources
from skaal.builder.writer import write_file
from skaal.plan.model import Plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    retain: bool = False
    ignore_changes: tuple[str, ...] = ()
    """The input properties the engine keeps from the stack's state on an update."""
    provider: str | None = None
    """The provider reference the resource was created with (``urn::id``), if any."""
    read_id: str | None = None
    """The id a program read an existing resource by (``Resource.get``); ``None``: created."""


@dataclass
class Run:
    resources: list[Recorded] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    """The stack outputs the program exported (resolved), when the runner records them."""

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Recorded:
        (found,) = [r for r in self.resources if r.name == name]
        return found


def capture_options(run: Run) -> Callable[[], None]:
    """Register a stack transformation recording options; call the result after the run."""
    options: dict[str, tuple[bool, bool, tuple[str, ...]]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        opts = args.opts
        ignored = tuple(opts.ignore_changes or ())
        options[args.name] = (bool(opts.protect), bool(opts.retain_on_delete), ignored)

    pulumi.runtime.register_stack_transformation(capture)

    def apply() -> None:
        for item in run.resources:
            item.protect, item.retain, item.ignore_changes = options.get(
                item.name, (False, False, ())
            )

    return apply


def example_context(example: str, blueprint: Blueprint, plan: Plan, target: str) -> BuildContext:
    """The build context of ``examples/<example>`` for ``plan`` (``shop`` is a package)."""
    module = "shop.app" if example == "shop" else "app"
    root = EXAMPLES if example == "shop" else EXAMPLES / example
    return BuildContext(
        blueprint=blueprint,
        plan=plan,
        app_ref=f"{module}:app",
        target=target,
        skaal_version="0.0.0",
        app_sources=read_app_sources(root, module),
        versions=lambda name: "1.0",
    )


def write(artifacts: ArtifactSet, folder: Path) -> Path:
    """Write ``artifacts`` (with their manifest) under ``folder``; returns ``folder``."""
    for item in artifacts.with_manifest():
        write_file(folder, item)  # text or bytes (the framework wheel)
    return folder


class LoopOwningMonitor(MockMonitor):
    """Pulumi's mock monitor, owning the event loops it needs on its worker threads.

    The stock monitor leaves one unclosed loop per worker thread (a
    ``ResourceWarning`` at garbage collection, an error under this suite's
    warning filter); this one creates them itself and closes them at the end.
    """

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def _loop(self) -> None:
        if threading.current_thread() is threading.main_thread():
            return
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            with self._lock:
                self.loops.append(loop)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        self._loop()
        return super().RegisterResource(request)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        self._loop()  # Resource.get: an existing resource read into the stack
        return super().ReadResource(request)

    def Invoke(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        self._loop()
        return super().Invoke(request)

    def close(self) -> None:
        """Close the worker threads' loops: call it once no worker runs (see :func:`mocked`)."""
        with self._lock:
            loops, self.loops = self.loops, []
        for loop in loops:
            loop.close()


def _unless_raised(raised: list[BaseException]) -> Callable[[Any, dict[str, Any]], None]:
    """An event loop's exception handler, silent on the error the program raised.

    A program that fails leaves its other calls' futures holding that same
    error, never retrieved: each would print it again, with its traceback,
    whenever the garbage collector meets it, in whatever test runs then.  (On
    CPython 3.11.7, that traceback's parse inside another parse also broke
    pytest's assertion rewriting of a module imported at the time: "SystemError:
    AST constructor recursion depth mismatch".)  Any other error is reported.
    """

    def handle(loop: Any, context: dict[str, Any]) -> None:
        if not any(context.get("exception") is exc for exc in raised):
            loop.default_exception_handler(context)

    return handle


@contextlib.contextmanager
def mocked(
    mocks: Mocks, *, project: str, stack: str, config: Mapping[str, str] | None = None
) -> Iterator[None]:
    """Pulumi's ``mocks`` (and stack ``config``) on a new event loop, for the ``with`` block.

    Pulumi's runtime calls the monitor on the loop's default executor, and each
    worker thread runs a loop of its own.  A program that fails leaves calls in
    flight: the executor is shut down first (its threads joined), then the
    workers' loops are closed.  Closed the other way round, a worker's loop may
    still be running, and the "Cannot close a running event loop" raised in
    teardown hides the error the test expects.
    """
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # pulumi's mocks and test runner use the current loop
    raised: list[BaseException] = []
    loop.set_exception_handler(_unless_raised(raised))
    monitor = LoopOwningMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(dict(config or {}))
    try:
        yield
    except BaseException as exc:
        raised.append(exc)
        raise
    finally:
        pulumi.runtime.set_all_config({})
        loop.run_until_complete(loop.shutdown_default_executor())
        monitor.close()
        asyncio.set_event_loop(None)
        loop.close()
