"""What the ``pubsub`` runtime and the gcp builder agree on about a queue.

A Queue resource on Pub/Sub is three topics, each with a subscription of the
same name (:func:`queue_names`), and its subscription dead-letters after
:func:`max_delivery_attempts`.  The runtime
(:mod:`skaal.runtime.backends.pubsub_queue`) uses these names and the gcp
build stage creates them, so the rule lives here, below both.

A queue adopting an existing subscription (``existing=``) keeps that
subscription's name apart from its topic's (:func:`adopted_queue_names`):
the topic and the dead-letter topic are the subscription's own, read by the
runtime and the program, and only ``<subscription>-delayed`` is Skaal's.
"""

from __future__ import annotations

from msgspec import Struct

__all__ = ["QueueNames", "adopted_queue_names", "max_delivery_attempts", "queue_names"]


class QueueNames(Struct, frozen=True):
    """Topic and subscription ids of one queue (each subscription has its topic's name,
    except an adopted queue's: see :attr:`subscription`)."""

    queue: str
    """The queue's topic: an id, or a full ``projects/P/topics/T`` path when adopted."""
    delayed: str
    dead: str
    """The dead-letter topic (and, when created, its subscription); a full path when adopted."""
    subscription: str = ""
    """The subscription the queue is pulled from; ``""``: the one named like :attr:`queue`."""

    @property
    def pulled(self) -> str:
        """The subscription the queue's messages are received from."""
        return self.subscription or self.queue


def queue_names(name: str) -> QueueNames:
    """The ids the runtime uses and the build stage creates for the queue named ``name``."""
    return QueueNames(queue=name, delayed=f"{name}-delayed", dead=f"{name}-dead")


def adopted_queue_names(subscription: str, *, topic: str, dead: str) -> QueueNames:
    """The names of a queue adopting ``subscription``, whose topic and dead-letter topic
    (full paths) are read from it; the delayed messages wait on Skaal's own
    ``<subscription>-delayed``."""
    return QueueNames(
        queue=topic, delayed=f"{subscription}-delayed", dead=dead, subscription=subscription
    )


def max_delivery_attempts(declared: int | None) -> int:
    """Pub/Sub dead-letters after 5 to 100 delivery attempts; clamp the declared figure."""
    return min(100, max(5, declared or 5))
