"""Shopping carts: small, hot, and close to the orders they turn into."""

from __future__ import annotations

from pydantic import BaseModel

from skaal import Map, Module

cart = Module("cart")


class Cart(BaseModel):
    owner: str
    skus: list[str] = []


@cart.storage(read_latency="< 5ms", durability="persistent", size="1GB", reads="100/s")
class Carts(Map[str, Cart]): ...


@cart.function(timeout="10s", invocations="1/s")
async def add_item(owner: str, sku: str) -> Cart:
    """Put ``sku`` in the cart of ``owner`` (created on first use)."""

    def add(current: Cart | None) -> Cart:
        cart = current or Cart(owner=owner)
        return cart.model_copy(update={"skus": [*cart.skus, sku]})

    return await Carts.update(owner, add)
