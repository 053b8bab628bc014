"""The smallest Skaal app: one persistent counter map and one HTTP function."""

from __future__ import annotations

from skaal import App, Map

app = App("hello")


@app.storage(durability="persistent")
class Counters(Map[str, int]): ...


@app.function()
async def hello(name: str = "world") -> str:
    return f"Hello, {name}!"
