"""The smallest Skaal app: a counter in a persistent Map, bumped over HTTP.

skaal run examples/hello/app.py
curl -X POST localhost:8000/fn/hello -H 'content-type: application/json' -d '{"name": "ada"}'
"""

from __future__ import annotations

from skaal import App, Map

app = App("hello")


@app.storage(durability="persistent")
class Counters(Map[str, int]):
    """How many times each name was greeted; survives a restart."""


@app.function()
async def hello(name: str = "world") -> str:
    """Greet ``name`` and say how many times it was greeted so far."""
    count = await Counters.increment(name)
    return f"Hello, {name}! (greeting #{count})"
