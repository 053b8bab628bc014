"""Random apps for the "every plan builds" property: every kind, every constraint mix.

:func:`random_app` declares one to six resources through the public API
(``app.storage``, ``app.blob``, ``app.queue``, ``app.topic``, ``app.secret``,
``app.function`` / ``schedule`` / ``consumer`` / ``subscriber``), each
constraint present with some probability and drawn from values that span the
catalogs' figures -- so some apps are unsatisfiable, which the property skips.
Some resources are pinned to a backend of the catalog that serves their kind,
server backends (Redis, PostgreSQL) first, so plans exercise the servers
even where an embedded backend would win on cost.  Everything is drawn from
the :class:`random.Random` passed in: a seed gives the same app every time.
"""

from __future__ import annotations

import random
import types
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Cron, Every, Index, Map, Queue, Topic
from skaal.blueprint.model import Kind
from skaal.catalog.model import Catalog
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["KINDS", "Item", "random_app"]

KINDS: tuple[Kind, ...] = ("map", "collection", "blob", "queue", "topic", "secret", "function")

_STORAGE: dict[str, tuple[str, ...]] = {
    "read_latency": ("< 1ms", "< 5ms", "< 20ms", "< 200ms"),
    "write_latency": ("< 2ms", "< 20ms", "< 500ms"),
    "durability": ("ephemeral", "persistent", "durable"),
    "size": ("1MB", "300MB", "5GB", "500GB"),
    "reads": ("1/s", "100/s", "5000/s"),
    "writes": ("1/s", "100/s", "2000/s"),
    "consistency": ("eventual", "strong"),
    "availability": ("99%", "99.9%", "99.99%"),
    "ttl": ("1h", "7d"),
}
_COLLECTION = tuple(_STORAGE)
_BLOB = ("read_latency", "write_latency", "durability", "size", "reads", "writes", "ttl")
_MESSAGING: dict[str, tuple[str, ...]] = {
    "durability": ("ephemeral", "persistent", "durable"),
    "messages": ("1/s", "100/s", "3000/s"),
    "retention": ("1h", "3d"),
}
_FUNCTION: dict[str, tuple[str, ...]] = {
    "memory": ("256MB", "1GB", "4GB"),
    "timeout": ("10s", "60s", "10m"),
}


class Item(BaseModel):
    """The document of every random collection."""

    id: str
    owner: str
    rank: int = 0


def _pick(rng: random.Random, choices: dict[str, tuple[str, ...]], keys: tuple[str, ...]) -> Any:
    return {k: rng.choice(choices[k]) for k in keys if rng.random() < 0.25}


def _pin(rng: random.Random, catalog: Catalog, kind: Kind) -> dict[str, str]:
    """Sometimes a pin to a backend serving ``kind``, with the durability it offers."""
    serving = sorted(b.name for b in catalog.backends if kind in b.kinds)
    servers = [
        n
        for n in serving
        if DEFAULT_REGISTRY.connection(catalog.backend(n).implementation) is not None
    ]
    chosen = None
    if servers and rng.random() < 0.6:
        chosen = rng.choice(servers)
    elif serving and rng.random() < 0.15:
        chosen = rng.choice(serving)
    if chosen is None:
        return {}
    return {"backend": chosen, "durability": catalog.backend(chosen).performance.durability}


def _handler(name: str) -> Callable[..., Any]:
    async def handler(message: Any = None) -> None:
        return None

    handler.__name__ = handler.__qualname__ = name
    return handler


def _residency(rng: random.Random, catalog: Catalog, options: dict[str, Any]) -> dict[str, str]:
    """On the clouds, sometimes ``residency="eu"``: plans across regions.

    Not on a resource pinned to a server: the planner shares a server's
    instances without regard to region, and the build refuses an instance
    holding resources of two regions.
    """
    if catalog.provider in ("aws", "gcp") and "backend" not in options and rng.random() < 0.2:
        return {"residency": "eu"}
    return {}


def random_app(rng: random.Random, name: str, catalog: Catalog) -> App:
    """An app of one to six random resources, some pinned to ``catalog``'s backends."""
    app = App(name)
    queues: list[type[Queue[Any]]] = []
    topics: list[type[Topic[Any]]] = []
    for i in range(rng.randint(1, 6)):
        kind = rng.choice(KINDS)
        title = f"{kind.capitalize()}{i}"
        match kind:
            case "map":
                options = {**_pick(rng, _STORAGE, tuple(_STORAGE)), **_pin(rng, catalog, kind)}
                options |= _residency(rng, catalog, options)
                app.storage(**options)(types.new_class(title, (Map[str, str],)))
            case "collection":
                options = {**_pick(rng, _STORAGE, _COLLECTION), **_pin(rng, catalog, kind)}
                options |= _residency(rng, catalog, options)
                indexed = rng.random() < 0.5

                def body(ns: dict[str, Any], indexed: bool = indexed) -> None:
                    if indexed:
                        ns["by_owner"] = Index("owner")

                app.storage(**options)(types.new_class(title, (Collection[Item],), exec_body=body))
            case "blob":
                options = {**_pick(rng, _STORAGE, _BLOB), **_pin(rng, catalog, kind)}
                options |= _residency(rng, catalog, options)
                app.blob(**options)(types.new_class(title, (BlobStore,)))
            case "queue":
                options = {**_pick(rng, _MESSAGING, tuple(_MESSAGING)), **_pin(rng, catalog, kind)}
                if rng.random() < 0.3:
                    options["ordered"] = True
                if rng.random() < 0.3:
                    options["max_attempts"] = rng.randint(1, 8)
                queue = types.new_class(title, (Queue[str],))
                app.queue(**options)(queue)
                queues.append(queue)
            case "topic":
                options = {**_pick(rng, _MESSAGING, tuple(_MESSAGING)), **_pin(rng, catalog, kind)}
                options |= _residency(rng, catalog, options)
                topic = types.new_class(title, (Topic[str],))
                app.topic(**options)(topic)
                topics.append(topic)
            case "secret":
                app.secret(f"SECRET_{i}", required=rng.random() < 0.7)
            case "function":
                _function(rng, app, f"fn{i}", queues, topics)
    return app


def _function(
    rng: random.Random,
    app: App,
    name: str,
    queues: list[type[Queue[Any]]],
    topics: list[type[Topic[Any]]],
) -> None:
    options = _pick(rng, _FUNCTION, tuple(_FUNCTION))
    roll = rng.random()
    if roll < 0.2 and queues:
        app.consumer(rng.choice(queues))(_handler(name))
    elif roll < 0.4 and topics:
        app.subscriber(rng.choice(topics))(_handler(name))
    elif roll < 0.6:
        trigger = Every("15m") if rng.random() < 0.5 else Cron("0 3 * * 1-5")
        app.schedule(trigger, **options)(_handler(name))
    else:
        app.function(http=rng.random() < 0.7, **options)(_handler(name))
