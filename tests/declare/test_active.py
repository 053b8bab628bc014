"""The port between declared classes and the runtime (:mod:`skaal.declare.active`).

A declared class knows only the port: whatever the active context holds.
A small in-test runtime shows the dispatch needs nothing from ``skaal.runtime``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from skaal import App, Map, Secret
from skaal.declare.active import ACTIVE, NoActiveRuntimeError, RuntimePort, active_runtime
from skaal.declare.native import Backend, Native, marker_of

app = App("ported")


@app.storage()
class Scores(Map[str, int]):
    pass


class _Scores:
    """A client holding one map in a dict."""

    def __init__(self) -> None:
        self.data: dict[str, int] = {}

    async def get(self, key: str) -> int | None:
        return self.data.get(key)

    async def set(self, key: str, value: int, *, ttl: float | None = None) -> None:
        self.data[key] = value


class _DictRuntime:
    """A runtime of one resource: what the port asks for and nothing more."""

    def __init__(self) -> None:
        self.scores = _Scores()

    def client(self, resource: Any) -> Any:
        assert resource is Scores
        return self.scores

    async def native(self, resource: Any, backend: Any = None) -> Native[Any]:
        return Native(self.scores, backend="dict", resource="Scores", kind="map", name="Scores")

    def secret(self, name: str) -> str | None:
        return {"TOKEN": "t0"}.get(name)


async def _use() -> tuple[int | None, str | None, Native[object]]:
    await Scores.set("ada", 42)
    return await Scores.get("ada"), Secret("TOKEN").value(), await Scores.native()


def test_declared_classes_reach_whatever_runtime_the_port_holds() -> None:
    runtime = _DictRuntime()
    port: RuntimePort = runtime
    token = ACTIVE.set(port)
    try:
        value, secret, hatch = asyncio.run(_use())
    finally:
        ACTIVE.reset(token)
    assert (value, secret, hatch.backend) == (42, "t0", "dict")
    assert runtime.scores.data == {"ada": 42}


def test_no_runtime_in_the_port_is_a_clear_error() -> None:
    with pytest.raises(NoActiveRuntimeError, match="no Skaal runtime is active"):
        active_runtime()


def test_a_marker_registers_itself_for_the_runtime_to_find() -> None:
    assert marker_of("made-up") is None
    marker: Backend[object, Scores] = Backend("made-up", "MADE_UP")
    assert marker_of("made-up") is marker
