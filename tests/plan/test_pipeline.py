"""plan_app / plan_blueprint with an injected solver and in-memory lock stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from skaal import App, Map
from skaal.blueprint.model import Blueprint
from skaal.catalog.model import Backend, Catalog, Performance, Price
from skaal.errors import PlanError, UnsatisfiableError
from skaal.pipeline import (
    DryRunLockStore,
    FileLockStore,
    MemoryLockStore,
    plan_app,
    plan_blueprint,
)
from skaal.plan.lock import lock_text
from skaal.plan.model import Binding, Plan


def _catalog(provider: str = "local") -> Catalog:
    backend = Backend(
        name="sqlite",
        description="s",
        kinds=("map",),
        implementation="sqlite",
        performance=Performance(read_latency_ms=1.0, durability="persistent", availability=99.0),
        regions=("local",),
        price=Price(region="local"),
    )
    return Catalog.model_validate(
        {
            "schema_version": 1,
            "name": "test",
            "provider": provider,
            "region": "local",
            "backends": (backend,),
        }
    )


@dataclass
class FakeSolver:
    """Places every resource on ``backend`` at ``cost``; records what it was given."""

    backend: str = "sqlite"
    cost: float = 1.0
    calls: list[tuple[Plan | None, dict[str, str], bool]] = field(default_factory=list)

    def __call__(
        self,
        blueprint: Blueprint,
        catalog: Catalog,
        *,
        previous: Plan | None = None,
        pins: Mapping[str, str] = {},
        reoptimize: bool = False,
        existing: Mapping[str, str] = {},
        traces: bool = False,
    ) -> Plan:
        self.calls.append((previous, dict(pins), reoptimize))
        bindings = tuple(
            Binding(
                resource=spec.name,
                kind=spec.kind,
                backend=pins.get(spec.name, self.backend),
                implementation=self.backend,
                region=catalog.region,
                monthly_cost=self.cost,
                reason="fake",
            )
            for spec in blueprint.resources
        )
        return Plan(
            app=blueprint.app,
            catalog=catalog.name,
            provider=catalog.provider,
            region=catalog.region,
            blueprint_hash=blueprint.content_hash(),
            catalog_hash=catalog.content_hash(),
            bindings=bindings,
            total_monthly_cost=self.cost * len(bindings),
        )


def _app(name: str = "shop") -> App:
    app = App(name)

    @app.storage(durability="persistent")
    class Carts(Map[str, str]): ...

    return app


def test_first_plan_is_written_and_all_added() -> None:
    store = MemoryLockStore()
    solver = FakeSolver()
    outcome = plan_app(_app(), _catalog(), lock=store, pins={"Carts": "sqlite"}, solver=solver)
    assert store.writes == [outcome.plan]
    assert outcome.previous is None
    assert [b.resource for b in outcome.diff.added] == ["Carts"]
    assert solver.calls == [(None, {"Carts": "sqlite"}, False)]


def test_second_plan_reuses_the_lock_and_shows_no_changes() -> None:
    store = MemoryLockStore()
    solver = FakeSolver()
    first = plan_app(_app(), _catalog(), lock=store, solver=solver)
    second = plan_app(_app(), _catalog(), lock=store, reoptimize=True, solver=solver)
    assert solver.calls[1] == (first.plan, {}, True)
    assert second.previous == first.plan
    assert second.diff.is_empty


def test_lock_for_another_app_is_not_reused() -> None:
    store = MemoryLockStore()
    plan_app(_app("blog"), _catalog(), lock=store, solver=FakeSolver())
    solver = FakeSolver()
    outcome = plan_app(_app("shop"), _catalog(), lock=store, solver=solver)
    assert solver.calls[0][0] is None
    assert outcome.diff.first_plan
    assert "plan for app 'blog', not 'shop'" in outcome.notes[0]


def test_lock_for_another_provider_is_not_reused() -> None:
    store = MemoryLockStore()
    plan_app(_app(), _catalog("aws"), lock=store, solver=FakeSolver())
    outcome = plan_app(_app(), _catalog("local"), lock=store, solver=FakeSolver())
    assert outcome.previous is None
    assert "provider 'aws', not 'local'" in outcome.notes[0]


def test_infeasible_plan_writes_nothing() -> None:
    store = MemoryLockStore()

    def unsat(blueprint: Blueprint, catalog: Catalog, **_: object) -> Plan:
        raise UnsatisfiableError("no plan")

    with pytest.raises(UnsatisfiableError):
        plan_app(_app(), _catalog(), lock=store, solver=unsat)
    assert store.writes == []


def test_dry_run_reads_but_never_writes_the_inner_store() -> None:
    inner = MemoryLockStore()
    first = plan_app(_app(), _catalog(), lock=inner, solver=FakeSolver())
    dry = DryRunLockStore(inner)
    outcome = plan_app(_app(), _catalog(), lock=dry, solver=FakeSolver(cost=5.0))
    assert outcome.previous == first.plan
    assert dry.written == outcome.plan
    assert inner.writes == [first.plan]
    assert [c.resource for c in outcome.diff.changed] == ["Carts"]


def test_file_store_round_trips(tmp_path: Path) -> None:
    store = FileLockStore(tmp_path / "skaal.lock")
    assert store.read() is None
    outcome = plan_app(_app(), _catalog(), lock=store, solver=FakeSolver())
    assert store.read() == outcome.plan
    assert store.location == str(tmp_path / "skaal.lock")


def test_file_store_leaves_a_lock_holding_the_plan_it_read(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    plan = plan_app(_app(), _catalog(), lock=FileLockStore(path), solver=FakeSolver()).plan
    marked = path.read_text() + "# the same plan\n"
    path.write_text(marked)
    store = FileLockStore(path)
    held = store.read()
    assert held == plan
    store.write(held)  # the plan it read, the file unchanged since: left as it is
    assert path.read_text() == marked
    store.write(plan)  # an equal plan, but not the one read: written
    assert path.read_text() == lock_text(plan)


def test_file_store_shows_its_path_not_the_plan_it_read(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    plan_app(_app(), _catalog(), lock=FileLockStore(path), solver=FakeSolver())
    store = FileLockStore(path)
    assert store.read() is not None
    assert repr(store) == f"FileLockStore(path={path!r})"
    assert store.path == path


def test_file_store_writes_a_plan_it_read_once_the_file_changed(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    plan = plan_app(_app(), _catalog(), lock=FileLockStore(path), solver=FakeSolver()).plan
    store = FileLockStore(path)
    held = store.read()
    assert held is not None
    path.write_text(path.read_text() + "# changed meanwhile\n")
    store.write(held)
    assert path.read_text() == lock_text(plan)


def test_replanning_an_unchanged_app_leaves_the_lock_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    plan_app(_app(), _catalog(), lock=FileLockStore(path), solver=FakeSolver())
    first = path.stat()
    outcome = plan_app(_app(), _catalog(), lock=FileLockStore(path), solver=FakeSolver())
    assert outcome.plan is outcome.previous
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)


def test_unreadable_lock_fails_unless_reoptimizing(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    path.write_text("not = [toml")
    store = FileLockStore(path)
    with pytest.raises(PlanError, match="not valid TOML"):
        plan_app(_app(), _catalog(), lock=store, solver=FakeSolver())
    outcome = plan_app(_app(), _catalog(), lock=store, reoptimize=True, solver=FakeSolver())
    assert outcome.notes[0].startswith("ignoring an unreadable lock")
    assert store.read() == outcome.plan


def test_plan_blueprint_matches_plan_app() -> None:
    app = _app()
    a = plan_app(app, _catalog(), lock=MemoryLockStore(), solver=FakeSolver())
    b = plan_blueprint(app.blueprint(), _catalog(), lock=MemoryLockStore(), solver=FakeSolver())
    assert a.plan == b.plan
