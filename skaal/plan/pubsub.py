"""What the ``pubsub`` runtime and the gcp builder agree on about a queue.

A Queue resource on Pub/Sub is three topics, each with a subscription of the
same name (:func:`queue_names`), and its subscription dead-letters after
:func:`max_delivery_attempts`.  The runtime
(:mod:`skaal.runtime.backends.pubsub_queue`) uses these names and the gcp
build stage creates them, so the rule lives here, below both.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QueueNames", "max_delivery_attempts", "queue_names"]


@dataclass(frozen=True, slots=True)
class QueueNames:
    """Topic and subscription ids of one queue (each subscription has its topic's name)."""

    queue: str
    delayed: str
    dead: str


def queue_names(name: str) -> QueueNames:
    """The ids the runtime uses and the build stage creates for the queue named ``name``."""
    return QueueNames(queue=name, delayed=f"{name}-delayed", dead=f"{name}-dead")


def max_delivery_attempts(declared: int | None) -> int:
    """Pub/Sub dead-letters after 5 to 100 delivery attempts; clamp the declared figure."""
    return min(100, max(5, declared or 5))
