"""Source locations of declarations: the line table gives what ``f_lineno`` gives.

:func:`skaal.declare.location.frame_line` reads a frame's line from a table
built once per code object instead of from ``frame.f_lineno`` (which costs
time proportional to the position in the code on CPython 3.11).  These tests
run real modules of many shapes and compare the two readings at the same
instruction, then check the ``file:line`` that declarations record and that
the table cache lives no longer than its code.
"""

from __future__ import annotations

import gc
import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, ModuleType

import pytest

from skaal.declare import location
from skaal.declare.location import frame_line

#: A module that calls ``probe()`` (its caller's line, read both ways) from
#: every place a declaration can be written.  ``# <`` marks the calls.
SHAPES = """
import asyncio
import contextlib
import functools

from probes import probe

probe()  # <
value = probe(  # <
    1,
    2,
)
nested = [probe(x) for x in range(2)]  # <


def plain():
    return probe()  # <


def with_decorators():
    def deco(fn):
        return fn

    @deco
    @functools.wraps(deco)
    def inner():
        return probe()  # <

    return inner()


class Outer:
    seen = probe()  # <

    class Inner:
        seen = [probe() for _ in range(1)]  # <

    def method(self):
        return probe()  # <


if True:
    for _ in range(2):
        while True:
            probe()  # <
            break
    else_value = probe() if False else probe()  # <
try:
    raise ValueError
except ValueError:
    probe()  # <
finally:
    probe()  # <
with contextlib.nullcontext():
    probe()  # <

anonymous = (lambda: probe())()  # <
chained = (
    probe  # <
    (3)
)


def generator():
    yield probe()  # <


async def coroutine():
    return probe()  # <


plain()
with_decorators()
Outer().method()
list(generator())
asyncio.run(coroutine())
"""

#: Enough statements before a probe to push it past EXTENDED_ARG offsets.
LONG_BODY = "".join(f"filler_{i} = {i} * 2 + len('{i}')\n" for i in range(3000))


class Probes:
    """Each probe's frame line from the table and from ``f_lineno``."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, int, int]] = []

    def __call__(self, *_: object) -> int:
        frame: FrameType = sys._getframe(1)
        table = frame_line(frame)
        self.seen.append((frame.f_code.co_filename, table, frame.f_lineno))
        return table


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Probes:
    recorder = Probes()
    module = ModuleType("probes")
    module.probe = recorder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "probes", module)
    monkeypatch.syspath_prepend(str(tmp_path))
    return recorder


def _run(tmp_path: Path, name: str, source: str) -> tuple[Path, set[int]]:
    path = tmp_path / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    marked = {n for n, text in enumerate(source.splitlines(), start=1) if text.endswith("# <")}
    importlib.import_module(name)
    del sys.modules[name]
    return path, marked


def test_table_lines_equal_f_lineno_in_every_shape(probes: Probes, tmp_path: Path) -> None:
    path, marked = _run(tmp_path, "shapes", SHAPES)
    assert {file for file, _, _ in probes.seen} == {str(path)}
    assert [(t, f) for _, t, f in probes.seen if t != f] == []
    assert {t for _, t, _ in probes.seen} == marked


def test_table_lines_equal_f_lineno_after_a_long_body(probes: Probes, tmp_path: Path) -> None:
    source = LONG_BODY + SHAPES.replace("from probes import probe\n", "") + LONG_BODY + "probe()"
    _, marked = _run(tmp_path, "long_shapes", "from probes import probe\n" + source + "  # <\n")
    assert [(t, f) for _, t, f in probes.seen if t != f] == []
    assert {t for _, t, _ in probes.seen} == marked
    assert max(marked) > 6000


def test_declarations_record_the_decorator_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    source = textwrap.dedent(
        """
        import types

        from skaal import App, Every, Map, Queue

        app = App("shapes")


        @app.storage(read_latency="< 10ms")  # < One
        class One(Map[str, int]): ...


        @app.storage(  # < Two
            read_latency="< 10ms",
            size="1GB",
        )
        class Two(Map[str, int]): ...


        def keep(obj):
            return obj


        @keep
        @app.queue()  # < Jobs
        @keep
        class Jobs(Queue[str]): ...


        def factory():
            @app.storage()  # < Three
            class Three(Map[str, int]): ...

            return Three


        factory()


        class Holder:
            @app.storage()  # < Holder.Four
            class Four(Map[str, int]): ...


        if True:
            for name in ("Five",):
                app.storage()(types.new_class(name, (Map[str, int],)))  # < Five


        @Jobs.consumer  # < work
        async def work(message: str) -> None: ...


        @app.schedule(Every("5m"))  # < tick
        def tick() -> None: ...
        """
    )
    source = source.replace("app = App", LONG_BODY + "app = App")
    path = tmp_path / "declared_shapes.py"
    path.write_text(source, encoding="utf-8")
    expected = {
        text.rsplit("# < ", maxsplit=1)[1]: n
        for n, text in enumerate(source.splitlines(), start=1)
        if "# < " in text
    }
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "declared_shapes", raising=False)
    module = importlib.import_module("declared_shapes")
    blueprint = module.app.blueprint()
    recorded = {spec.name: spec.location for spec in blueprint.resources}
    assert {name: loc.line for name, loc in recorded.items()} == expected
    assert {loc.file for loc in recorded.values()} == {str(path)}


def test_a_table_lives_no_longer_than_its_code(probes: Probes) -> None:
    gc.collect()
    before = len(location._TABLES)
    for size in range(1, 60):
        # fresh code objects of different shapes, each freed before the next:
        # CPython reuses their memory, so a table kept by id would give wrong lines
        code = compile("\n" * size + "probe()\n" * (size % 3 + 1), f"<shape {size}>", "exec")
        exec(code, {"probe": probes})
        assert len(location._TABLES) == before + 1  # kept while the code lives
        del code
        gc.collect()
        assert len(location._TABLES) == before
    assert [(t, f) for _, t, f in probes.seen if t != f] == []
    assert len(probes.seen) == sum(size % 3 + 1 for size in range(1, 60))


def test_a_frame_that_has_not_started_reads_its_first_line() -> None:
    def later() -> Iterator[int]:
        yield 1

    frame = later().gi_frame
    assert frame is not None
    assert frame_line(frame) == frame.f_lineno == later.__code__.co_firstlineno
