"""A persistent counter: one Map, two HTTP functions.

skaal run examples/counter/app.py
curl -X POST localhost:8000/fn/increment -H 'content-type: application/json' -d '{"name": "visits"}'
"""

from __future__ import annotations

from skaal import App, Map

app = App("counter")


@app.storage(durability="persistent")
class Counters(Map[str, int]):
    """Named counters; persistent, so they survive a restart."""


@app.function()
async def increment(name: str, by: int = 1) -> int:
    """Add ``by`` to the counter ``name`` and return its new value."""
    return await Counters.increment(name, by)


@app.function()
async def read(name: str) -> int:
    """The current value of the counter ``name`` (0 if it was never incremented)."""
    return await Counters.get(name) or 0
