"""Typed clients: one per resource kind, each wrapping a backend port with a codec."""

from skaal.runtime.clients.blob import BlobClient
from skaal.runtime.clients.collection import CollectionClient
from skaal.runtime.clients.map import MapClient
from skaal.runtime.clients.queue import QueueClient, RetryPolicy, TopicClient, TopicSubscription

__all__ = [
    "BlobClient",
    "CollectionClient",
    "MapClient",
    "QueueClient",
    "RetryPolicy",
    "TopicClient",
    "TopicSubscription",
]
