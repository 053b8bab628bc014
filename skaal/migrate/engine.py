"""``skaal migrate``: copy each pending move's data, verify it, then switch the binding.

A pending move (:mod:`skaal.plan.moves`) is a binding of the lock whose data
is still on ``moving_from``; the runtime serves it there.  For each one,
:func:`migrate` does, in order:

1. **Copy** every item from the source (the ``moving_from`` backend) to the
   target (the binding's backend) in batches, in key order.  After each
   batch the source position reached is saved in the journal
   (:mod:`skaal.migrate.journal`), so a run killed at any point resumes from
   the last saved batch; a batch copied twice is harmless (writes replace).
2. **Catch up**: walk both sides in key order and repair the target where
   it differs (an item written or changed on the source during the copy is
   written again, an item deleted from the source is removed).
3. **Verify**: count the items of both sides and hash them (an
   order-independent sum of each item's SHA-256 over its key and encoded
   value, :meth:`~skaal.migrate.sides.Item.digest`), and, when both sides
   tell a map entry's time left, check it agrees within
   :data:`~skaal.migrate.sides.TTL_TOLERANCE` (step 2 rewrites those that
   do not, with the source's time left).  Any difference raises
   :class:`~skaal.errors.MigrationError` naming the first differing keys;
   nothing is switched and the next run starts again at step 2.  Steps 2
   and 3 are passes of :mod:`skaal.migrate.verify`, which the migration
   function runs in several calls, each resuming where the last stopped.
4. **Switch**: the lock is rewritten atomically with the move done (the
   binding served where the plan placed it) and the journal entry removed.

Writes during a migration go to the source (the runtime serves it until the
switch): those made during the copy are caught up by step 2.  Writes made
after step 2 and before every process serves the switched lock would be
missed, so the switch needs a short freeze of the resource's writers:
documented in ``docs/migrate.md``.  The source keeps its data after the
switch (delete it when satisfied).

A crash or kill before step 4 leaves the lock unchanged (the runtime still
serves the source, which still holds everything); after step 4 the move is
done.  :func:`rollback` abandons a move's copy: it removes what was copied to
the target and forgets the journal entry; the lock keeps the move until the
resource is planned back onto its origin (``skaal plan --pin RES=BACKEND``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Protocol

from msgspec import Struct

from skaal.blueprint.model import Blueprint
from skaal.errors import MigrationError, UsageError, did_you_mean
from skaal.migrate.journal import Journal, Progress, journal_path, placement
from skaal.migrate.sides import items_of, side_for
from skaal.migrate.verify import Comparison, Ends, compare, verify
from skaal.plan.lock import read_lock, write_lock
from skaal.plan.model import Binding, Plan
from skaal.plan.moves import pending_moves, switched
from skaal.runtime.runtime import Runtime

__all__ = [
    "DEFAULT_BATCH",
    "BatchHook",
    "Comparison",
    "Ends",
    "MoveResult",
    "Opener",
    "compare",
    "migrate",
    "open_ends",
    "read_plan",
    "rollback",
    "selected",
    "switch",
]

DEFAULT_BATCH = 500
BatchHook = Callable[[str, Progress], None]
"""Called after each batch is copied and saved in the journal (resource, progress)."""


class MoveResult(Struct, frozen=True):
    """What :func:`migrate` did for one move."""

    resource: str
    source: str
    target: str
    resumed_at: int
    """Items the journal said were already copied when this run started."""
    copied: int
    """Items copied by this run."""
    caught_up: int
    verified: Comparison | None
    switched: bool


class Opener(Protocol):
    """Opens both ends of a move (:func:`open_ends`; tests inject in-memory ones)."""

    def __call__(
        self,
        blueprint: Blueprint,
        plan: Plan,
        binding: Binding,
        *,
        env: Mapping[str, str] | None,
        project_dir: Path | None,
        data_dir: Path | None,
    ) -> AbstractAsyncContextManager[Ends]: ...


async def migrate(
    blueprint: Blueprint,
    lock: Path,
    *,
    resources: Sequence[str] = (),
    batch: int = DEFAULT_BATCH,
    dry_run: bool = False,
    env: Mapping[str, str] | None = None,
    project_dir: Path | None = None,
    data_dir: Path | None = None,
    on_batch: BatchHook | None = None,
    opener: Opener | None = None,
) -> tuple[MoveResult, ...]:
    """Copy, verify and switch the pending moves of the lock at ``lock`` (all, or ``resources``).

    ``dry_run`` reads both sides and reports without writing anything.
    """
    if batch < 1:
        raise UsageError(f"--batch {batch} is not a positive number of items", where="--batch")
    plan = read_plan(lock)
    results = []
    for binding in selected(plan, resources):
        results.append(
            await _migrate_one(
                blueprint,
                plan,
                binding,
                lock=lock,
                batch=batch,
                dry_run=dry_run,
                env=env,
                project_dir=project_dir,
                data_dir=data_dir,
                on_batch=on_batch,
                opener=opener or open_ends,
            )
        )
        if not dry_run:
            plan = read_plan(lock)
    return tuple(results)


async def rollback(
    blueprint: Blueprint,
    lock: Path,
    *,
    resources: Sequence[str] = (),
    batch: int = DEFAULT_BATCH,
    env: Mapping[str, str] | None = None,
    project_dir: Path | None = None,
    data_dir: Path | None = None,
    opener: Opener | None = None,
) -> tuple[str, ...]:
    """Abandon the copies of pending moves: empty their targets, forget their journal entries.

    The lock is not changed: each resource stays served from its origin.
    Returns the resources rolled back.
    """
    plan = read_plan(lock)
    journal = Journal.load(journal_path(lock))
    opener = opener or open_ends
    done = []
    for binding in selected(plan, resources):
        async with opener(
            blueprint, plan, binding, env=env, project_dir=project_dir, data_dir=data_dir
        ) as ends:
            keys = [item.key async for item in items_of(ends.target, batch=batch)]
            for key in keys:
                await ends.target.remove(key)
        journal = journal.save(binding.resource, None)
        done.append(binding.resource)
    return tuple(done)


def read_plan(lock: Path) -> Plan:
    """The plan of the lock at ``lock``; a :class:`UsageError` when there is none."""
    plan = read_lock(lock)
    if plan is None:
        raise UsageError(
            f"there is no lock file at {lock}",
            where="--lock",
            fix="plan first, or pass --lock the lock holding the moves",
            command="skaal plan",
        )
    return plan


def selected(plan: Plan, resources: Sequence[str]) -> tuple[Binding, ...]:
    moves = pending_moves(plan)
    if not resources:
        return moves
    by_name = {b.resource: b for b in moves}
    for name in resources:
        if name not in by_name:
            declared = [b.resource for b in plan.bindings]
            problem = (
                "has no pending move"
                if name in declared
                else f"is not in the plan{did_you_mean(name, declared)}"
            )
            raise UsageError(
                f"--resource {name} {problem}",
                where="--resource",
                fix="pending moves: " + (", ".join(by_name) or "none"),
            )
    return tuple(by_name[name] for name in dict.fromkeys(resources))


async def _migrate_one(
    blueprint: Blueprint,
    plan: Plan,
    binding: Binding,
    *,
    lock: Path,
    batch: int,
    dry_run: bool,
    env: Mapping[str, str] | None,
    project_dir: Path | None,
    data_dir: Path | None,
    on_batch: BatchHook | None,
    opener: Opener,
) -> MoveResult:
    assert binding.moving_from is not None  # a pending move
    name = binding.resource
    source, target = placement(binding.moving_from), placement(binding)
    journal = Journal.load(journal_path(lock))
    progress = journal.progress(name, source, target)
    resumed_at = progress.copied
    copied = 0
    async with opener(
        blueprint, plan, binding, env=env, project_dir=project_dir, data_dir=data_dir
    ) as ends:
        if dry_run:
            check = await compare(ends, batch=batch, repair=False)
            return MoveResult(name, source, target, resumed_at, 0, 0, check, switched=False)
        while not progress.complete:
            items, position = await ends.source.page(progress.position, batch)
            await ends.target.write(items)
            progress = progress.advanced(position, len(items))
            copied += len(items)
            journal = journal.save(name, progress)
            if on_batch is not None:
                on_batch(name, progress)
        verified = await verify(ends, None, batch=batch)
    check = verified.comparison()
    switch(lock, binding, check, journal)
    return MoveResult(name, source, target, resumed_at, copied, verified.caught_up, check, True)


def switch(lock: Path, binding: Binding, check: Comparison, journal: Journal) -> None:
    """Rewrite the lock with ``binding``'s move done, if ``check`` matches and the lock still
    records that move; forget its journal entry.  :class:`MigrationError` otherwise."""
    assert binding.moving_from is not None  # a pending move
    name = binding.resource
    source, target = placement(binding.moving_from), placement(binding)
    if not check.matches:
        raise MigrationError(
            f"{name} differs between {source} and {target} after the copy: "
            f"{check.source_items} items against {check.target_items}"
            + (
                f", first differing keys {', '.join(map(repr, check.differing))}"
                if check.differing
                else ""
            )
            + "; the lock was not switched",
            where=name,
            fix="stop the writers of this resource (see docs/migrate.md) and run it again",
            command=f"skaal migrate --resource {name}",
        )
    current = read_plan(lock)
    if _move_of(current, name) != binding:
        raise MigrationError(
            f"the lock changed while {name} was copied: its move is no longer "
            f"{source} → {target}; nothing was switched",
            where=str(lock),
            fix="run skaal migrate again for the lock as it is now",
        )
    write_lock(switched(current, [name]), lock)
    journal.save(name, None)


def _move_of(plan: Plan, name: str) -> Binding | None:
    try:
        return plan.binding(name)
    except KeyError:
        return None


@asynccontextmanager
async def open_ends(
    blueprint: Blueprint,
    plan: Plan,
    binding: Binding,
    *,
    env: Mapping[str, str] | None,
    project_dir: Path | None,
    data_dir: Path | None,
) -> AsyncIterator[Ends]:
    """Both ends of ``binding``'s move, each through a runtime on its own view of the plan.

    The source is the runtime's own view (a pending move is served from its
    origin), the target the plan with this move switched.  Each runtime opens
    only this resource.
    """
    name, kind = binding.resource, binding.kind
    spec = next((s for s in blueprint.resources if s.name == name), None)
    if spec is None:
        raise MigrationError(
            f"{name} has a pending move in the lock but is no longer declared",
            where=name,
            fix="declare it again to migrate it, or re-plan to drop its binding",
            command="skaal plan",
        )
    alone = blueprint.model_copy(update={"resources": (spec,)})
    async with AsyncExitStack() as stack:
        sides = []
        for view in (plan, switched(plan, [name])):
            runtime = await stack.enter_async_context(
                Runtime.open(
                    alone,
                    view,
                    env=env,
                    project_dir=project_dir,
                    data_dir=data_dir,
                    named_by=plan,  # each server read from its variable in the deployed lock
                )
            )
            client = runtime.client_named(name) if kind == "collection" else None
            sides.append(side_for(kind, runtime.store_named(name), client, resource=name))
        yield Ends(source=sides[0], target=sides[1])
