"""The copy, catch-up, verification and switch of ``skaal migrate``, with in-memory ends.

The lock is real (planned against the ``local-servers`` catalog, which needs
no server to plan); the two ends of each move are injected
(:class:`~skaal.migrate.engine.Opener`), so these tests need no backend.
The same engine runs against real servers in ``test_kill.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from skaal.blueprint.model import Blueprint
from skaal.catalog import load_catalog
from skaal.declare.app_ref import load_app
from skaal.errors import MigrationError, UsageError
from skaal.migrate import migrate, rollback
from skaal.migrate.engine import Ends, compare
from skaal.migrate.journal import Journal, Progress, journal_path
from skaal.migrate.sides import Item
from skaal.pipeline import FileLockStore, plan_blueprint
from skaal.plan.lock import read_lock
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import pending_moves

pytestmark = pytest.mark.asyncio


class DictSide:
    """A side holding its items in a dict; ``lose`` names keys its writes silently drop."""

    keeps_ttl = False

    def __init__(self, data: Mapping[str, bytes] = {}, *, lose: frozenset[str] = frozenset()):
        self.data = dict(data)
        self.lose = lose
        self.writes = 0

    async def page(self, after: str | None, limit: int) -> tuple[list[Item], str | None]:
        keys = sorted(k for k in self.data if after is None or k > after)
        chosen = keys[:limit]
        more = len(keys) > limit
        return [Item(k, self.data[k]) for k in chosen], chosen[-1] if more else None

    async def write(self, items: Sequence[Item]) -> None:
        for item in items:
            self.writes += 1
            if item.key not in self.lose:
                self.data[item.key] = item.value

    async def remove(self, key: str) -> None:
        self.data.pop(key, None)


class Fixed:
    """An opener handing out the same two sides for every move."""

    def __init__(self, source: DictSide, target: DictSide) -> None:
        self.ends = Ends(source=source, target=target)

    @asynccontextmanager
    async def __call__(
        self, blueprint: Blueprint, plan: Plan, binding: Binding, **options: Any
    ) -> AsyncIterator[Ends]:
        yield self.ends


SOURCE = {f"k{i:04}": f"v{i}".encode() for i in range(100)}


def _plan(project: Path, **pins: str) -> Blueprint:
    blueprint = load_app("shop.py:app", cwd=project).blueprint()
    plan_blueprint(
        blueprint,
        load_catalog("local-servers"),
        lock=FileLockStore(project / "skaal.lock"),
        pins=pins,
    )
    return blueprint


@pytest.fixture
def moving(project: Path) -> Blueprint:
    """A lock in which Orders moves from sqlite to postgres."""
    _plan(project, Orders="sqlite")
    return _plan(project, Orders="postgres")


def _pending(project: Path) -> list[str]:
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    return [b.resource for b in pending_moves(plan)]


async def test_copies_verifies_and_switches(project: Path, moving: Blueprint) -> None:
    source, target = DictSide(SOURCE), DictSide()
    lock = project / "skaal.lock"
    (result,) = await migrate(moving, lock, batch=7, opener=Fixed(source, target))
    assert target.data == SOURCE
    assert result.copied == 100
    assert result.resumed_at == 0
    assert result.caught_up == 0
    assert result.switched
    assert result.verified is not None
    assert result.verified.matches
    assert result.source == "sqlite@local"
    assert result.target.startswith("postgres@local")
    assert _pending(project) == []
    assert not journal_path(lock).exists()


async def test_a_crash_resumes_after_the_last_saved_batch(project: Path, moving: Blueprint) -> None:
    source, target = DictSide(SOURCE), DictSide()
    lock = project / "skaal.lock"

    def crash(name: str, progress: Progress) -> None:
        if progress.batches == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await migrate(moving, lock, batch=10, opener=Fixed(source, target), on_batch=crash)
    assert len(target.data) == 30
    assert _pending(project) == ["Orders"]
    assert Journal.load(journal_path(lock)).moves["Orders"].position == "k0029"
    target.writes = 0
    (result,) = await migrate(moving, lock, batch=10, opener=Fixed(source, target))
    assert result.resumed_at == 30
    assert result.copied == 70
    assert target.writes == 70
    assert target.data == SOURCE
    assert _pending(project) == []


async def test_a_crash_inside_a_batch_copies_that_batch_again(
    project: Path, moving: Blueprint
) -> None:
    class Crashing(DictSide):
        async def write(self, items: Sequence[Item]) -> None:
            await super().write(items[:5])
            if self.writes == 35:  # half of the fourth batch is written, then the process dies
                raise KeyboardInterrupt
            await super().write(items[5:])

    source, crashing = DictSide(SOURCE), Crashing()
    lock = project / "skaal.lock"
    with pytest.raises(KeyboardInterrupt):
        await migrate(moving, lock, batch=10, opener=Fixed(source, crashing))
    assert len(crashing.data) == 35
    assert Journal.load(journal_path(lock)).moves["Orders"].copied == 30
    target = DictSide(crashing.data)
    (result,) = await migrate(moving, lock, batch=10, opener=Fixed(source, target))
    assert result.resumed_at == 30
    assert result.copied == 70
    assert target.data == SOURCE


async def test_a_difference_left_after_the_copy_names_keys_and_switches_nothing(
    project: Path, moving: Blueprint
) -> None:
    source, target = DictSide(SOURCE), DictSide(lose=frozenset({"k0005", "k0042"}))
    lock = project / "skaal.lock"
    with pytest.raises(MigrationError) as caught:
        await migrate(moving, lock, batch=10, opener=Fixed(source, target))
    message = str(caught.value)
    assert "100 items against 98" in message
    assert "'k0005', 'k0042'" in message
    assert "the lock was not switched" in message
    assert _pending(project) == ["Orders"]
    assert Journal.load(journal_path(lock)).moves["Orders"].complete  # the copy is not redone


async def test_writes_during_the_copy_are_caught_up(project: Path, moving: Blueprint) -> None:
    source, target = DictSide(SOURCE), DictSide()

    def app_writes(name: str, progress: Progress) -> None:
        if progress.batches == 5:  # after k0000..k0049 were copied
            source.data["k0001"] = b"changed"
            del source.data["k0002"]
            source.data["k0099"] = b"changed too"  # not copied yet: the copy takes it
            source.data["k0100"] = b"new"

    (result,) = await migrate(
        moving, project / "skaal.lock", batch=10, opener=Fixed(source, target), on_batch=app_writes
    )
    assert result.caught_up == 2
    assert target.data == source.data


async def test_a_lock_changed_during_the_copy_is_not_switched(
    project: Path, moving: Blueprint
) -> None:
    source, target = DictSide(SOURCE), DictSide()

    def replan(name: str, progress: Progress) -> None:
        if progress.batches == 1:
            _plan(project, Orders="redis")

    with pytest.raises(MigrationError, match="the lock changed while Orders was copied"):
        await migrate(
            moving, project / "skaal.lock", batch=50, opener=Fixed(source, target), on_batch=replan
        )
    plan = read_lock(project / "skaal.lock")
    assert plan is not None
    assert plan.binding("Orders").backend == "redis"
    assert _pending(project) == ["Orders"]


async def test_a_journal_of_another_move_is_ignored(project: Path, moving: Blueprint) -> None:
    lock = project / "skaal.lock"
    Journal.load(journal_path(lock)).save(
        "Orders", Progress(source="memory@local", target="redis@local", position="k0090", copied=9)
    )
    source, target = DictSide(SOURCE), DictSide()
    (result,) = await migrate(moving, lock, batch=10, opener=Fixed(source, target))
    assert result.resumed_at == 0
    assert result.copied == 100


async def test_dry_run_reports_and_writes_nothing(project: Path, moving: Blueprint) -> None:
    source, target = DictSide(SOURCE), DictSide({"k0001": b"v1"})
    lock = project / "skaal.lock"
    before = lock.read_bytes()
    (result,) = await migrate(moving, lock, dry_run=True, opener=Fixed(source, target))
    assert result.verified is not None
    assert (result.verified.source_items, result.verified.target_items) == (100, 1)
    assert not result.switched
    assert target.data == {"k0001": b"v1"}
    assert lock.read_bytes() == before
    assert not journal_path(lock).exists()


async def test_rollback_empties_the_target_and_keeps_the_move(
    project: Path, moving: Blueprint
) -> None:
    source, target = DictSide(SOURCE), DictSide()
    lock = project / "skaal.lock"

    def stop(name: str, progress: Progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await migrate(moving, lock, batch=10, opener=Fixed(source, target), on_batch=stop)
    assert await rollback(moving, lock, opener=Fixed(source, target)) == ("Orders",)
    assert target.data == {}
    assert source.data == SOURCE
    assert not journal_path(lock).exists()
    assert _pending(project) == ["Orders"]


async def test_compare_is_order_independent_and_names_differences() -> None:
    ends = Ends(source=DictSide({"a": b"1", "b": b"2"}), target=DictSide({"b": b"2", "c": b"3"}))
    check = await compare(ends, batch=1, repair=False)
    assert not check.matches
    assert check.differing == ("a", "c")
    same = await compare(Ends(DictSide({"a": b"1"}), DictSide({"a": b"1"})), batch=1, repair=False)
    assert same.matches
    assert same.source_digest == same.target_digest


async def test_bad_selections_are_usage_errors(project: Path, moving: Blueprint) -> None:
    lock = project / "skaal.lock"
    ends = Fixed(DictSide(), DictSide())
    with pytest.raises(UsageError, match="Invoices has no pending move"):
        await migrate(moving, lock, resources=("Invoices",), opener=ends)
    with pytest.raises(UsageError, match=r"Order is not in the plan \(did you mean 'Orders'\?\)"):
        await migrate(moving, lock, resources=("Order",), opener=ends)
    with pytest.raises(UsageError, match="no lock file"):
        await migrate(moving, project / "other.lock", opener=ends)
    with pytest.raises(UsageError, match="--batch 0"):
        await migrate(moving, lock, batch=0, opener=ends)


async def test_a_damaged_journal_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock.migration.json"
    path.write_text("{not json")
    with pytest.raises(MigrationError, match="is not a migration journal") as caught:
        Journal.load(path)
    assert "delete skaal.lock.migration.json" in str(caught.value)


SAVED_JOURNAL = """\
{
  "moves": {
    "Carts": {
      "batches": 1,
      "complete": true,
      "copied": 5,
      "position": null,
      "source": "a@local",
      "target": "b@local",
      "verifying": {
        "caught_up": 2,
        "differing": [
          "k0003",
          "k0007"
        ],
        "done": false,
        "last_key": "k0012",
        "phase": "check",
        "repaired": 1,
        "source_digest": "abababababababababababababababababababababababababababababababab",
        "source_items": 13,
        "source_page": "k0010",
        "steps": 4,
        "target_digest": "0000000000000000000000000000000000000000000000000000000000000000",
        "target_items": 12,
        "target_page": null
      }
    },
    "Orders": {
      "batches": 3,
      "complete": false,
      "copied": 30,
      "position": "k0029",
      "source": "postgres@local (postgres#1)",
      "target": "dynamodb@us-east-1",
      "verifying": null
    }
  },
  "version": 2
}
"""
"""A journal as :meth:`Journal.save` wrote it while its records were dataclasses: one move
copied part-way, one verifying.  Journals are durable: this one must still load and save alike."""


async def test_a_saved_journal_reads_and_saves_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock.migration.json"
    path.write_text(SAVED_JOURNAL)
    journal = Journal.load(path)
    carts = journal.moves["Carts"]
    assert carts.verifying is not None
    assert carts.verifying.differing == ("k0003", "k0007")
    assert journal.moves["Orders"].position == "k0029"
    journal.save("Orders", journal.moves["Orders"])
    assert path.read_text() == SAVED_JOURNAL
