"""User-style use of the typed client facade; ``mypy --strict`` must infer these types.

Lines marked with an "error" comment are misuse that mypy must report (and nothing else).
"""

from __future__ import annotations

from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Index, Map, Queue, Topic
from skaal.runtime import BlobInfo, DeadLetter, Page, TopicSubscription

app = App("typed-clients")


class Cart(BaseModel):
    id: str
    owner: str


@app.storage(durability="persistent")
class Carts(Map[str, Cart]): ...


@app.storage()
class Counters(Map[str, int]): ...


@app.storage()
class Todos(Collection[Cart]):
    by_owner = Index("owner")


@app.blob()
class Uploads(BlobStore): ...


@app.queue()
class Emails(Queue[str]): ...


@app.topic()
class Events(Topic[int]): ...


@Emails.consumer
async def send_email(address: str) -> None: ...


async def use() -> None:
    cart: Cart | None = await Carts.get("k")
    await Carts.set("k", Cart(id="k", owner="ada"), ttl=60)
    page: Page[tuple[str, Cart]] = await Carts.items(prefix="k", limit=10)
    many: dict[str, Cart] = await Carts.get_many(["a", "b"])
    total: int = await Counters.increment("hits")
    updated: Cart = await Carts.update("k", lambda c: c or Cart(id="k", owner="ada"))
    todo: Cart | None = await Todos.get("1")
    found: Page[Cart] = await Todos.find(owner="ada", limit=5)
    info: BlobInfo = await Uploads.put("a.txt", b"hi", content_type="text/plain")
    data: bytes = await Uploads.get("a.txt")
    message_id: str = await Emails.send("ada@example.com")
    dead: list[DeadLetter[str]] = await Emails.dead_letters()
    listeners: int = await Events.publish(3)
    sub: TopicSubscription[int] = await Events.subscribe("audit")
    print(cart, page, many, total, updated, todo, found, info, data, message_id, dead, listeners)
    print(sub)


async def misuse() -> None:
    wrong: int | None = await Carts.get("k")  # error: a Cart is not an int
    await Carts.set(1, Cart(id="k", owner="ada"))  # error: keys are str
    await Emails.send(42)  # error: messages are str
    await Carts.increment("k")  # error: increment needs int values
    print(wrong)
