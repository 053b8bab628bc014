"""Verifying a move in steps: both ends merged in key order, resumable where it stopped.

The engine's steps 2 and 3 (:mod:`skaal.migrate.engine`) walk both ends of a
move in key order: the *catch-up* pass repairs the target where it differs
from the source, the *check* pass counts and hashes both ends and names the
first differing keys.  A pass over a large resource may outlast one call of
the migration function (Lambda stops a call after 15 minutes), so a pass is
a :class:`Scan` that :func:`scan` advances until a time budget is spent and
that the operator saves in the journal (:class:`~skaal.migrate.journal.Progress`)
between calls, as the copy's position is saved.

**Where a scan stopped.**  A side is read in pages (``Side.page``) whose
positions are opaque, so the scan records, for each side, the position the
page it was reading was read from, and, for both, the last key it processed.
The merge always processes the smallest key first, so every key up to the
last one processed is done on both sides; resuming reads each side's page
again and skips the keys up to that one.  An item written meanwhile before
that key (on either side) is not seen by this pass -- as with a pass run in
one go, writes made during verification are the writers' freeze's business
(docs/migrate.md) -- and the catch-up's own repairs, all at or before the
last key, are not visited again.

**The running totals.**  The counts, the hash sums (an order-independent sum
modulo 2^256 of each item's SHA-256), the first differing keys and the number
of repairs are kept in the scan, so the pass's result does not depend on how
many calls it took.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from msgspec import Struct
from msgspec.structs import asdict, replace

from skaal.migrate.sides import Item, Side, ttl_matches

__all__ = ["Comparison", "Ends", "Phase", "Scan", "compare", "scan", "verify"]

Phase = Literal["catch_up", "check"]
_MODULUS = 1 << 256
_SHOWN = 5
_ZERO = f"{0:064x}"


class Ends(Struct, frozen=True):
    """The two sides of one move: where its data is, and where the plan placed it."""

    source: Side
    target: Side


class Comparison(Struct, frozen=True):
    """Both sides of a move counted and hashed, and the keys where they differ."""

    source_items: int
    source_digest: str
    target_items: int
    target_digest: str
    differing: tuple[str, ...]
    """The first differing keys (at most five); empty when the sides match."""
    repaired: int = 0

    @property
    def matches(self) -> bool:
        return (
            not self.differing
            and self.source_items == self.target_items
            and self.source_digest == self.target_digest
        )


class Scan(Struct, frozen=True):
    """One pass over both ends, possibly stopped part-way (saved in the journal between calls)."""

    phase: Phase = "catch_up"
    source_page: str | None = None
    """The position the source page being read was read from (``None``: the first page)."""
    target_page: str | None = None
    last_key: str | None = None
    """The last key processed on both sides (``None``: none yet)."""
    source_items: int = 0
    source_digest: str = _ZERO
    target_items: int = 0
    target_digest: str = _ZERO
    differing: tuple[str, ...] = ()
    repaired: int = 0
    caught_up: int = 0
    """What the catch-up pass repaired (kept by the check pass that follows it)."""
    done: bool = False
    """The pass is complete (a check pass: :meth:`comparison` is the verification)."""
    steps: int = 0
    """How many calls advanced this scan."""

    @classmethod
    def loaded(cls, data: Any) -> Scan:
        """The scan saved as ``data`` (a dict, as :meth:`dumped` made it)."""
        return cls(**{**data, "differing": tuple(data["differing"])})

    def dumped(self) -> dict[str, Any]:
        out = asdict(self)
        out["differing"] = list(self.differing)
        return out

    def comparison(self) -> Comparison:
        return Comparison(
            source_items=self.source_items,
            source_digest=self.source_digest,
            target_items=self.target_items,
            target_digest=self.target_digest,
            differing=self.differing,
            repaired=self.repaired,
        )


async def scan(
    ends: Ends, state: Scan, *, batch: int, spent: Callable[[], bool] = lambda: False
) -> Scan:
    """Advance the pass ``state`` until it ends or ``spent()`` says the time budget is used.

    The budget is asked after each ``batch`` keys, so a call processes at
    least one batch (when any key is left) and a pass always progresses, as a
    copy step copies at least one batch; a finished pass is ``done``.
    """
    if state.done:
        return state
    repair = state.phase == "catch_up"
    timed = ends.source.keeps_ttl and ends.target.keeps_ttl
    source = _Cursor(ends.source, batch=batch, page=state.source_page)
    target = _Cursor(ends.target, batch=batch, page=state.target_page)
    await source.start(after=state.last_key)
    await target.start(after=state.last_key)
    counts = [state.source_items, state.target_items]
    sums = [int(state.source_digest, 16), int(state.target_digest, 16)]
    differing = list(state.differing)
    repaired = state.repaired
    last = state.last_key
    processed = 0
    while source.item is not None or target.item is not None:
        if processed and processed % batch == 0 and spent():
            break
        processed += 1
        s, t = source.item, target.item
        fix: Item | None = None
        key: str | None = None
        if t is None or (s is not None and s.key < t.key):
            assert s is not None
            fix, key = s, s.key  # missing from the target
        elif s is None or t.key < s.key:
            key = t.key  # no longer on the source
        elif s.digest() != t.digest() or (timed and not ttl_matches(s.ttl, t.ttl)):
            fix, key = s, s.key
        if s is not None and (t is None or s.key <= t.key):
            counts[0] += 1
            sums[0] = (sums[0] + int.from_bytes(s.digest(), "big")) % _MODULUS
            last = s.key
            await source.advance()
        if t is not None and (s is None or t.key <= s.key):
            counts[1] += 1
            sums[1] = (sums[1] + int.from_bytes(t.digest(), "big")) % _MODULUS
            last = t.key
            await target.advance()
        if key is not None:
            if len(differing) < _SHOWN:
                differing.append(key)
            if repair:
                repaired += 1
                if fix is not None:
                    await ends.target.write([fix])
                else:
                    await ends.target.remove(key)
    return replace(
        state,
        source_page=source.page,
        target_page=target.page,
        last_key=last,
        source_items=counts[0],
        source_digest=f"{sums[0]:064x}",
        target_items=counts[1],
        target_digest=f"{sums[1]:064x}",
        differing=tuple(differing),
        repaired=repaired,
        done=source.item is None and target.item is None,
        steps=state.steps + 1,
    )


async def compare(ends: Ends, *, batch: int, repair: bool) -> Comparison:
    """One whole pass in one go; with ``repair``, make the target equal the source."""
    state = await scan(ends, Scan(phase="catch_up" if repair else "check"), batch=batch)
    return state.comparison()


async def verify(
    ends: Ends, state: Scan | None, *, batch: int, spent: Callable[[], bool] = lambda: False
) -> Scan:
    """Catch up, then check (from ``state``, or from the start), until done or ``spent()``."""
    state = state or Scan()
    while True:
        state = await scan(ends, state, batch=batch, spent=spent)
        if state.done and state.phase == "catch_up":
            state = Scan(phase="check", caught_up=state.repaired, steps=state.steps)
        elif state.done or spent():
            return state


class _Cursor:
    """One side read page by page, resumable from a page position and a key."""

    def __init__(self, side: Side, *, batch: int, page: str | None) -> None:
        self._side = side
        self._batch = batch
        self.page = page
        """The position the buffered page was read from."""
        self._buffer: list[Item] = []
        self._next: str | None = None
        self.item: Item | None = None

    async def start(self, *, after: str | None) -> None:
        items, self._next = await self._side.page(self.page, self._batch)
        self._buffer = [i for i in items if after is None or i.key > after]
        self._buffer.reverse()
        await self._fill()

    async def advance(self) -> None:
        self._buffer.pop()
        await self._fill()

    async def _fill(self) -> None:
        while not self._buffer and self._next is not None:
            self.page = self._next
            items, self._next = await self._side.page(self.page, self._batch)
            self._buffer = list(reversed(items))
        self.item = self._buffer[-1] if self._buffer else None
