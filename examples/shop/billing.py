"""Orders, payments and the nightly report."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from shop.cart import Carts
from shop.catalog import Products
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
async def checkout(owner: str) -> Order | None:
    """Turn the cart of ``owner`` into an order and queue its payment; null if it is empty."""
    cart = await Carts.get(owner)
    if cart is None or not cart.skus:
        return None
    products = [await Products.get(sku) for sku in cart.skus]
    total = sum(p.price_cents for p in products if p is not None)
    order = Order(id=f"order-{uuid.uuid4().hex[:12]}", owner=owner, total_cents=total)
    await Orders.put(order)
    await Payments.send(Payment(order_id=order.id, amount_cents=total))
    await Carts.delete(owner)
    return order


@billing.schedule(Cron("0 3 * * *"), timeout="5m", secrets=[STRIPE_KEY])
def nightly_report() -> None: ...
