"""Products and their images: read often, written rarely."""

from __future__ import annotations

from pydantic import BaseModel

from skaal import BlobStore, Collection, Index, Module

catalog = Module("catalog")


class Product(BaseModel):
    sku: str
    name: str
    category: str
    price_cents: int


@catalog.storage(read_latency="< 5ms", durability="persistent", size="2GB", reads="200/s")
class Products(Collection[Product]):
    key = "sku"
    by_category = Index("category")


@catalog.blob(size="20GB", reads="1/s")
class Images(BlobStore): ...
