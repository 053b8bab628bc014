"""What a served app's lifespan opened, shared by the middleware, the dashboard and tests."""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from skaal.serve.scheduler import Scheduler
from skaal.serve.workers import QueueWorker, TopicWorker

__all__ = ["ServeState"]


class ServeState(Struct):
    """What the lifespan opened, shared with the middleware and tests."""

    runtime: Any = None
    scheduler: Scheduler | None = None
    workers: list[QueueWorker | TopicWorker] = field(default_factory=list)
