"""Keep Python's cyclic garbage collector out of the planner's way, then restore it.

Planning creates hundreds of thousands of small, acyclic records next to a
large, long-lived blueprint; with the collector running, every full
collection rescans that blueprint, which roughly doubles the planning time
at 10,000 resources.  So :func:`collector_paused` pauses the collector and
freezes what already exists (sets it aside from collections) unless the
program froze objects itself, in which case its freeze is left alone.
Nothing is lost: on exit the collector is restored exactly as it was, and
everything is collectable as before.

A block entered while the collector is already paused (inside another such
block, or a program that paused it itself) changes nothing: no collection can
run in it anyway, and asking how many objects are frozen walks every frozen
object (``gc.get_freeze_count`` counts a list; about 3 ms in a 1,000-resource
``skaal plan``, whose command pauses the collector around ``solve``'s own pause).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause (and, if nothing is frozen yet, freeze) the collector for the block."""
    if not gc.isenabled():
        yield  # already paused: see the module docstring
        return
    freeze = gc.get_freeze_count() == 0
    gc.disable()
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()
        gc.enable()
