"""The shop: three modules composed into one app with one monthly budget."""

from __future__ import annotations

from shop.billing import billing
from shop.cart import cart
from shop.catalog import catalog
from skaal import App

app = App("shop", budget="$100/month")
app.use(catalog)
app.use(cart)
app.use(billing)
