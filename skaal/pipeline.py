"""How Skaal turns declarations into running infrastructure, stage by stage.

Data flows one way; each stage returns a new frozen record and never mutates
its input.  Side effects are confined to the stages that say so.

1. **Declarations** (:mod:`skaal.declare`).  Decorators such as
   ``@app.storage(read_latency="< 10ms")`` record a spec with the user's
   ``file:line`` on the :class:`~skaal.App` and return the user's class
   unchanged.  Side effects: none (no I/O, no solver, no cloud SDK).

2. **Blueprint** (:mod:`skaal.blueprint`).  ``app.blueprint()`` composes the
   app and its modules into a sorted, hashable record in canonical units.
   Nothing downstream looks at the user's classes again.  Side effects: none.

3. **Catalog** (:mod:`skaal.catalog`).  The backends a provider offers, with
   performance, limits and sourced prices, loaded from TOML and layered
   (bundled < user file < ``extends``).  Side effects: reads catalog files.

4. **Solver** (:mod:`skaal.solver`).  A pure function of (blueprint, catalog,
   previous plan, pins): a plain-Python feasibility filter per resource, then
   an exact optimisation of the remaining choices (z3 only for coupled
   groups).  Infeasible inputs raise :class:`~skaal.errors.UnsatisfiableError`
   carrying a diagnosis.  Side effects: none; the only package importing z3.

5. **Plan and lock** (:mod:`skaal.plan`).  The chosen backend per resource,
   costs, reasons and the prices used, written to ``skaal.lock``.  The
   previous lock feeds stage 4 so placements stay put unless
   ``--reoptimize`` is asked for; :func:`~skaal.plan.diff.diff_plans` says
   what moved, and :func:`~skaal.plan.moves.record_moves` marks each moved
   resource that holds data as a pending move, served where its data is
   until ``skaal migrate`` copies, verifies and switches it.  Side effects:
   reads and writes the lock, through a :class:`LockStore`.

6. **Builders → artifacts** read a Plan (never the solver) and generate
   deployable files; **deploy** hands them to the deploy engine.  Side
   effects: writes the artifact directory; deploy changes the cloud.

7. The **local runtime** is a second consumer of a Plan: it wires each
   resource to the implementation its binding names.

This module runs stages 2 to 5 for ``skaal plan``.  "Plan without writing"
(``--no-write``, ``--explain``) is not a flag threaded through the code: the
caller passes a different :class:`LockStore` (:class:`DryRunLockStore` reads
the real lock and keeps the write in memory), the way a dry-run deploy swaps
the executor rather than asking every step whether it is real.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from msgspec import Struct, field

from skaal.errors import PlanError, UsageError
from skaal.plan.diff import PlanDiff, diff_plans
from skaal.plan.lock import read_lock, write_lock
from skaal.plan.moves import record_moves

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint
    from skaal.catalog.model import Catalog
    from skaal.declare.app import App
    from skaal.plan.model import Plan

__all__ = [
    "DryRunLockStore",
    "FileLockStore",
    "LockStore",
    "MemoryLockStore",
    "PlanOutcome",
    "Solver",
    "plan_app",
    "plan_blueprint",
]


class LockStore(Protocol):
    """Where the previous plan comes from and the new one goes."""

    @property
    def location(self) -> str:
        """Human-readable place of the lock, for messages."""
        ...

    def read(self) -> Plan | None:
        """The stored plan, or ``None`` if there is none yet."""
        ...

    def write(self, plan: Plan) -> None:
        """Store ``plan`` (replacing the previous one)."""
        ...


class FileLockStore:
    """The lock file on disk (``skaal.lock``), written atomically.

    A path that cannot hold a lock (a directory, a file used as a folder, a
    folder that cannot be created or written) is a
    :class:`~skaal.errors.UsageError` naming it, never an ``OSError``.

    Writing the very plan this store read, to a file unchanged since (same
    inode, size and modification time), leaves the file as it is: it holds
    that plan already, its ``plan_hash`` checked when it was read.  A re-plan
    that keeps every placement gets the lock's own plan back
    (:func:`~skaal.plan.moves.record_moves`), and at 100,000 resources
    writing its 52 MB again took over a second.  The plan stays in the text
    it was read from: a lock reformatted by hand keeps its format until its
    plan changes (a lock of an older schema is never the plan written: the
    solver plans in the current one).

    A service holding state, not a record: a plain class, whose repr shows the
    path and not the plan last read.
    """

    __slots__ = ("_path", "_read")

    def __init__(self, path: Path) -> None:
        self._path = path
        self._read: tuple[Plan, tuple[int, int, int]] | None = None
        """The plan last read and the file it was read from, while that is the last read."""

    def __repr__(self) -> str:
        return f"FileLockStore(path={self._path!r})"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def location(self) -> str:
        return str(self.path)

    def read(self) -> Plan | None:
        self._read = None
        before = _file_identity(self.path)
        plan = read_lock(self.path)
        if plan is not None and before is not None:
            self._read = (plan, before)
        return plan

    def write(self, plan: Plan) -> None:
        if self._read is not None:
            read, identity = self._read
            if read is plan and _file_identity(self.path) == identity:
                return
        self._read = None
        try:
            write_lock(plan, self.path)
        except OSError as exc:
            raise UsageError(
                f"this lock file path is not usable: it cannot be written ({exc.strerror})",
                where=str(self.path),
                fix="pass --lock the path of a file in a folder you can write "
                "(default: skaal.lock)",
            ) from None


def _file_identity(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is replaced or written: inode, size, modification time."""
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_ino, found.st_size, found.st_mtime_ns


class MemoryLockStore(Struct):
    """A lock held in memory: for tests and for programs embedding the planner."""

    plan: Plan | None = None
    writes: list[Plan] = field(default_factory=list)

    @property
    def location(self) -> str:
        return "<memory>"

    def read(self) -> Plan | None:
        return self.plan

    def write(self, plan: Plan) -> None:
        self.plan = plan
        self.writes.append(plan)


class DryRunLockStore(Struct):
    """Reads another store; keeps writes in memory so nothing on disk changes."""

    inner: LockStore
    written: Plan | None = None

    @property
    def location(self) -> str:
        return self.inner.location

    def read(self) -> Plan | None:
        return self.inner.read()

    def write(self, plan: Plan) -> None:
        self.written = plan


class Solver(Protocol):
    """The signature of :func:`skaal.solver.solve`."""

    def __call__(
        self,
        blueprint: Blueprint,
        catalog: Catalog,
        *,
        previous: Plan | None = None,
        pins: Mapping[str, str] = ...,
        reoptimize: bool = False,
        existing: Mapping[str, str] = ...,
        traces: bool = False,
    ) -> Plan: ...


class PlanOutcome(Struct, frozen=True):
    """A new plan, the lock it replaced, and what changed."""

    plan: Plan
    previous: Plan | None
    """The plan read from the lock (``None`` if none, or if it was for another app)."""
    diff: PlanDiff
    notes: tuple[str, ...] = ()
    """Things the user should know, e.g. why the previous lock was not reused."""


def plan_app(
    app: App,
    catalog: Catalog,
    *,
    lock: LockStore,
    pins: Mapping[str, str] | None = None,
    reoptimize: bool = False,
    solver: Solver | None = None,
    existing: Mapping[str, str] | None = None,
) -> PlanOutcome:
    """Plan ``app`` against ``catalog``, reusing and then replacing the lock.

    ``pins`` (``--pin``) and ``existing`` (the configuration's adoptions,
    :mod:`skaal.envs.existing`) enter beside the Blueprint: they change the
    plan, and so its hash, but not the Blueprint.

    Raises :class:`~skaal.errors.UnsatisfiableError` (nothing written) when no
    plan meets every constraint.
    """
    return plan_blueprint(
        app.blueprint(),
        catalog,
        lock=lock,
        pins=pins,
        reoptimize=reoptimize,
        solver=solver,
        existing=existing,
    )


def plan_blueprint(
    blueprint: Blueprint,
    catalog: Catalog,
    *,
    lock: LockStore,
    pins: Mapping[str, str] | None = None,
    reoptimize: bool = False,
    solver: Solver | None = None,
    existing: Mapping[str, str] | None = None,
    traces: bool = False,
) -> PlanOutcome:
    """:func:`plan_app` for an already-built blueprint; ``traces``: the project exports
    traces (``[tool.skaal] traces``), which the plan prices."""
    if solver is None:
        from skaal.solver import solve as solver_fn  # noqa: PLC0415 - the solver (and z3) loads only when a plan is made, not when a lock is read

        solver = solver_fn
    unreadable: tuple[str, ...] = ()
    try:
        stored = lock.read()
    except PlanError as exc:
        if not reoptimize:
            raise
        stored, unreadable = None, (f"ignoring an unreadable lock: {exc.what}",)
    previous, notes = _reusable(stored, blueprint, catalog, lock.location)
    notes = unreadable + notes
    # a lock that cannot anchor stability (another app or provider) is replaced from
    # scratch: its placements are not moves (skaal.plan.moves)
    plan = record_moves(
        previous,
        solver(
            blueprint,
            catalog,
            previous=previous,
            pins=dict(pins or {}),
            reoptimize=reoptimize,
            existing=dict(existing or {}),
            traces=traces,
        ),
    )
    lock.write(plan)
    return PlanOutcome(plan=plan, previous=previous, diff=diff_plans(previous, plan), notes=notes)


def _reusable(
    stored: Plan | None, blueprint: Blueprint, catalog: Catalog, where: str
) -> tuple[Plan | None, tuple[str, ...]]:
    """The stored plan if it may anchor stability, and a note if it may not."""
    if stored is None:
        return None, ()
    if stored.app != blueprint.app:
        return None, (
            f"{where} holds a plan for app {stored.app!r}, not {blueprint.app!r}: "
            "planning from scratch and replacing it",
        )
    if stored.provider != catalog.provider:
        return None, (
            f"{where} was planned for provider {stored.provider!r}, not "
            f"{catalog.provider!r}: planning from scratch and replacing it",
        )
    return stored, ()
