"""Mistakes the type checker must catch; a test asserts mypy reports each marked line."""

from __future__ import annotations

from skaal import App, Map, Queue

app = App("typed")


@app.storage(read_latncy="< 10ms")  # error: misspelt keyword
class Carts(Map[str, int]): ...


@app.queue(size="1GB")  # error: not a queue constraint
class Jobs(Queue[str]): ...


@app.storage(size=20)  # error: a size is text
class Counters(Map[str, int]): ...


@app.function(retention="1d")  # error: not a function constraint
def handler() -> None: ...


@app.storage()
class Plain: ...  # error: not a resource class


def legacy(environ: object, start_response: object) -> list[bytes]:
    return []


app.mount("/legacy", legacy, interface="flask")  # error: not an interface
