"""User-style code declaring every kind; type-checked with ``mypy --strict`` by a test."""

from __future__ import annotations

from pydantic import BaseModel

from skaal import (
    App,
    BlobStore,
    Collection,
    Cron,
    Every,
    Index,
    Map,
    Module,
    Queue,
    Secret,
    Topic,
    blocking,
)
from skaal.blueprint import Blueprint


class Cart(BaseModel):
    id: str
    owner: str
    total: float = 0.0


class Order(BaseModel):
    number: int
    customer: str


app = App("typed", budget="$100/month", max_backends=4)
billing = app.use(Module("billing"))
STRIPE = app.secret("STRIPE_KEY", description="payments")


@app.storage(read_latency="< 10ms", durability="persistent", size="20GB", reads="300/s")
class Carts(Collection[Cart]):
    key = "id"
    by_owner = Index("owner")


@billing.storage(collocate_with=Carts, consistency="strong", access="prefix")
class Orders(Collection[Order]):
    key = "number"


@app.storage(ttl="1h", collocate_with="Carts")
class Sessions(Map[str, str]): ...


@app.blob(size="1TB", residency="eu")
class Uploads(BlobStore): ...


@billing.queue(messages="10/s", ordered=True, max_attempts=5, retention="4d")
class Payments(Queue[Order]): ...


@app.topic(messages="1/s", durability="durable")
class Events(Topic[str]): ...


@app.function(memory="512MB", timeout="30s", invocations="20/s", secrets=[STRIPE])
async def checkout(cart_id: str) -> str:
    return cart_id


@app.schedule(Cron("0 3 * * *", timezone="Europe/Paris"), timeout="5m")
def nightly() -> None: ...


@billing.schedule(Every("10m"), secrets=(Secret("WEBHOOK"),))
def poll() -> int:
    return 0


async def asgi(scope: object, receive: object, send: object) -> None: ...


app.mount("/api", asgi)


def wsgi(environ: dict[str, object], start_response: object) -> list[bytes]:
    session: str | None = blocking(Sessions.get("k"))
    return [(session or "").encode()]


app.mount("/legacy", wsgi, interface="wsgi", threads=4)

blueprint: Blueprint = app.blueprint()
carts: type[Carts] = Carts
total: float = Cart(id="1", owner="me").total
name: str = checkout.__name__
count: int = poll()
