"""Orders, payments and the nightly report."""

from __future__ import annotations

from pydantic import BaseModel

from shop.cart import Carts
from skaal import Collection, Cron, Index, Module, Queue, Secret

billing = Module("billing")

STRIPE_KEY = Secret("STRIPE_KEY", description="payment provider API key")


class Order(BaseModel):
    id: str
    owner: str
    total_cents: int
    status: str = "new"


class Payment(BaseModel):
    order_id: str
    amount_cents: int


@billing.storage(durability="persistent", size="5GB", collocate_with=Carts)
class Orders(Collection[Order]):
    by_owner = Index("owner")
    by_status = Index("status")


@billing.queue(messages="2/s", max_attempts=5)
class Payments(Queue[Payment]): ...


@billing.function(timeout="30s", secrets=[STRIPE_KEY])
async def checkout(owner: str) -> Order:
    return Order(id=f"order-{owner}", owner=owner, total_cents=0)


@billing.schedule(Cron("0 3 * * *"), timeout="5m", secrets=[STRIPE_KEY])
def nightly_report() -> None: ...
