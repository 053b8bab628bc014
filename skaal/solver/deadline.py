"""One time budget for a whole ``solve``: created once, passed down, never restarted.

The planner's time limit covers everything after ``solve`` is called: the
feasibility filter, the bounds, every z3 call and the fallbacks.  A
:class:`Deadline` is created from ``time_limit_s`` at the start and handed to
each stage; a z3 call gets :meth:`Deadline.remaining_ms` (and is skipped when
nothing remains, the best plan known so far being returned instead).  The
clock is injected so tests can run a deadline that has already expired
without timing anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Deadline"]


@dataclass(frozen=True, slots=True)
class Deadline:
    """A point in time on ``clock`` (seconds, monotonic) after which optimisation stops."""

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def after(cls, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """The deadline ``seconds`` from now on ``clock``."""
        return cls(clock() + max(0.0, seconds), clock)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - self.clock())

    def remaining_ms(self) -> int:
        """Whole milliseconds left, for z3's ``timeout`` option."""
        return int(self.remaining() * 1000)

    def expired(self) -> bool:
        return self.remaining_ms() <= 0
