"""A verification in steps (:mod:`skaal.migrate.verify`), on in-memory maps.

Each step is stopped after a fixed number of batches (the ``spent`` callback
counts how often it is asked, no clock), its scan goes through JSON between steps (as the
journal and the migration function's reply carry it), and the result must
be the one a pass in one go gives: the same repairs, counts and hashes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from skaal.migrate.journal import Journal, Progress
from skaal.migrate.sides import side_for
from skaal.migrate.verify import Ends, Scan, compare, scan, verify
from skaal.runtime.backends.memory import MemoryKeyValue

KEYS = 57


def clock() -> float:
    return 1_000_000.0


async def _ends() -> tuple[MemoryKeyValue, MemoryKeyValue, Ends]:
    source, target = MemoryKeyValue(clock, "Orders"), MemoryKeyValue(clock, "Orders")
    await source.set_many({f"k{i:03}": str(i).encode() for i in range(KEYS)})
    await target.set_many({f"k{i:03}": str(i).encode() for i in range(KEYS) if i % 10})
    await target.set("k020", b"changed")
    await target.set("k9zz", b"gone from the source")
    ends = Ends(
        source=side_for("map", source, None, resource="Orders"),
        target=side_for("map", target, None, resource="Orders"),
    )
    return source, target, ends


def _after(asks: int) -> Callable[[], bool]:
    """A budget spent when asked the ``asks``-th time (a scan asks after each batch of keys)."""
    asked = [0]

    def spent() -> bool:
        asked[0] += 1
        return asked[0] >= asks

    return spent


def _wire(state: Scan) -> Scan:
    return Scan.loaded(json.loads(json.dumps(state.dumped())))


@pytest.mark.asyncio
async def test_a_verification_in_steps_equals_one_in_one_go() -> None:
    _, _, whole = await _ends()
    _, target, stepped = await _ends()
    expected = await verify(whole, None, batch=7)

    state: Scan | None = None
    steps = 0
    while state is None or not (state.done and state.phase == "check"):
        state = _wire(await verify(stepped, state, batch=5, spent=_after(1)))
        steps += 1
    assert steps > 20  # about 60 keys per pass, one batch of 5 per step
    assert state.caught_up == expected.caught_up == 7  # 5 missing, 1 changed, 1 extra
    assert state.comparison() == expected.comparison()
    assert state.comparison().matches
    assert await target.get("k020") == b"20"
    assert await target.get("k9zz") is None


@pytest.mark.asyncio
async def test_a_step_resumes_after_the_last_key_both_sides_processed() -> None:
    source, _, ends = await _ends()
    first = await scan(ends, Scan(phase="check"), batch=5, spent=_after(2))
    assert not first.done
    assert first.last_key == "k009"
    assert (first.source_items, first.target_items) == (10, 9)  # k000 is missing
    # a write before the last key is not this pass's; one after it is counted
    await source.set("k005", b"rewritten")
    await source.set("k010", b"rewritten")
    rest = await scan(ends, _wire(first), batch=4)
    assert rest.done
    whole = await compare(ends, batch=4, repair=False)
    assert rest.source_items == whole.source_items == KEYS
    assert rest.differing == ("k000", "k010", "k020", "k030", "k040")
    assert whole.differing == ("k000", "k005", "k010", "k020", "k030")
    assert rest.source_digest != whole.source_digest  # k005 was read before it was rewritten


def test_the_journal_keeps_the_scan_and_reads_a_version_1_journal(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock.migration.json"
    scan_ = Scan(phase="check", source_page="k009", last_key="k009", source_items=10)
    progress = Progress("a", "b", copied=3, complete=True).verified_to(scan_)
    Journal.load(path).save("Orders", progress)
    assert Journal.load(path).moves["Orders"] == progress

    path.write_text(
        json.dumps(
            {
                "version": 1,
                "moves": {
                    "Orders": {
                        "source": "a",
                        "target": "b",
                        "position": None,
                        "copied": 3,
                        "batches": 1,
                        "complete": True,
                    }
                },
            }
        )
    )
    assert Journal.load(path).moves["Orders"].verifying is None
