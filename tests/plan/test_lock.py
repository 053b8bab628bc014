"""The lock file: exact round trip, atomic replacement, helpful errors, staleness."""

from __future__ import annotations

import json
import os
import shutil
import tomllib
from pathlib import Path

import pytest
import rtoml
from click.testing import CliRunner

from skaal.blueprint.model import Blueprint, ResourceSpec, SourceLocation
from skaal.blueprint.record import error_path
from skaal.catalog.loader import load_catalog
from skaal.catalog.model import Backend, Catalog, Performance, Price, PriceItem, ReadFactor
from skaal.cli.main import cli
from skaal.declare.app_ref import load_app
from skaal.errors import PlanError
from skaal.plan.lock import _read_in_runs, is_stale, lock_text, read_lock, write_lock
from skaal.plan.model import (
    BUILDABLE_SCHEMA_VERSION,
    PLAN_SCHEMA_VERSION,
    Binding,
    CostLine,
    Plan,
    SharedInstance,
    UsedPrice,
)
from tests.plan._factories import plan_of

SOURCE = "https://example.com/pricing"


def _price(amount: float) -> Price:
    return Price(
        region="us-east-1",
        fixed_monthly=PriceItem(amount=amount, source=SOURCE, as_of="2026-11-22"),
        per_gb_month=PriceItem(amount=0.1, source=SOURCE, as_of="2026-11", note="first 25 GB"),
    )


def _plan(**changes: object) -> Plan:
    plan = plan_of(
        Binding(
            resource="Carts",
            kind="map",
            backend="dynamodb",
            implementation="dynamodb",
            region="us-east-1",
            monthly_cost=0.1 + 0.2,
            cost=(CostLine(component="per_gb_month", quantity=2.0, monthly=0.1 + 0.2),),
            reason="cheapest of 3 backends meeting read_latency < 10ms",
        ),
        Binding(
            resource="billing.Sessions",
            kind="map",
            backend="redis",
            implementation="redis",
            region="us-east-1",
            instance="redis#1",
            monthly_cost=0.0,
            status="pinned",
            reason="pinned with --pin",
        ),
        instances=(
            SharedInstance(
                id="redis#1",
                backend="redis",
                instance_class="cache.t4g.micro",
                parameters={"node_type": "cache.t4g.micro"},
                fixed_monthly=12.5,
                resources=("billing.Sessions",),
            ),
        ),
        prices=(
            UsedPrice(backend="dynamodb", price=_price(0.0)),
            UsedPrice(backend="redis", price=_price(12.5)),
        ),
        total_monthly_cost=12.8,
        status="best_found",
        reoptimize_savings=1.25,
    )
    return plan.model_copy(update=changes)


def test_round_trip_is_exact(tmp_path: Path) -> None:
    plan = _plan()
    path = write_lock(plan, tmp_path / "skaal.lock")
    again = read_lock(path)
    assert again == plan
    assert again is not None
    assert again.content_hash() == plan.content_hash()


def test_lock_holds_plan_hash_bindings_and_prices(tmp_path: Path) -> None:
    plan = _plan()
    path = write_lock(plan, tmp_path / "skaal.lock")
    text = path.read_text()
    assert text.startswith("# skaal.lock")
    data = tomllib.loads(text)
    assert data["plan_hash"] == plan.content_hash()
    assert data["status"] == "best_found"
    assert [b["resource"] for b in data["bindings"]] == ["Carts", "billing.Sessions"]
    assert data["bindings"][0]["cost"][0]["component"] == "per_gb_month"
    assert "instance" not in data["bindings"][0]
    assert data["instances"][0]["fixed_monthly"] == 12.5
    item = data["prices"][1]["price"]["per_gb_month"]
    assert item == {"amount": 0.1, "source": SOURCE, "as_of": "2026-11", "note": "first 25 GB"}


def test_missing_lock_reads_as_none(tmp_path: Path) -> None:
    assert read_lock(tmp_path / "skaal.lock") is None


def test_write_replaces_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    write_lock(_plan(), path)
    write_lock(_plan(total_monthly_cost=99.0), path)
    assert read_lock(path) == _plan(total_monthly_cost=99.0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skaal.lock"]


def test_failed_replace_keeps_the_old_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "skaal.lock"
    write_lock(_plan(), path)
    before = path.read_bytes()

    def refuse(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_lock(_plan(total_monthly_cost=1.0), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["skaal.lock"]


def test_write_creates_the_directory(tmp_path: Path) -> None:
    path = write_lock(_plan(), tmp_path / "deploy" / "skaal.lock")
    assert read_lock(path) == _plan()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("schema_version = 1\napp = [", "is not valid TOML"),
        ("schema_version = 8\n", "schema_version 8"),
        ("app = 'shop'\n", "schema_version None"),
        ("schema_version = 3\napp = 'shop'\n", "does not describe a plan"),
        ("schema_version = 2\napp = 'shop'\n", "does not describe a plan"),
        ("schema_version = 1\napp = 'shop'\n", "before server instance classes"),
    ],
)
def test_corrupt_lock_names_the_file_and_the_fix(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "skaal.lock"
    path.write_text(text)
    with pytest.raises(PlanError) as info:
        read_lock(path)
    message = str(info.value)
    assert problem in message
    assert str(path) in message
    assert "delete skaal.lock" in message
    assert "skaal plan --reoptimize" in message


def test_hand_edited_lock_is_rejected(tmp_path: Path) -> None:
    path = write_lock(_plan(), tmp_path / "skaal.lock")
    path.write_text(
        path.read_text().replace("total_monthly_cost = 12.8", "total_monthly_cost = 1.0")
    )
    with pytest.raises(PlanError, match="edited by hand"):
        read_lock(path)


def test_lock_text_is_deterministic() -> None:
    assert lock_text(_plan()) == lock_text(_plan())


def _moving_plan() -> Plan:
    """:func:`_plan` with Carts moving from a retiring server, and traces exported."""
    plan = _plan(traces=True)
    carts = plan.bindings[0]
    origin = carts.model_copy(update={"backend": "postgres", "instance": "postgres#1"})
    retiring = plan.instances[0].model_copy(update={"id": "postgres#1", "resources": ("Carts",)})
    return plan.model_copy(
        update={
            "bindings": (carts.model_copy(update={"moving_from": origin}), *plan.bindings[1:]),
            "retiring": (retiring,),
        }
    )


@pytest.mark.parametrize("plan", [_plan(), _moving_plan()], ids=["plain", "moving"])
def test_the_lock_text_is_the_same_whether_the_hash_was_known_or_not(plan: Plan) -> None:
    unknown = plan.model_copy()  # a copy computes its hash afresh: from the text's own dump
    known = plan.model_copy()
    known.content_hash()
    text = lock_text(unknown)
    assert text == lock_text(known)
    data = rtoml.loads(text)
    assert data["plan_hash"] == plan.content_hash()
    written = {key: value for key, value in data.items() if key != "plan_hash"}
    assert Plan.model_validate(written) == plan
    assert "moving_from" not in data["bindings"][1]  # absent values are left out


def _blueprint(app: str = "shop", read: str = "point") -> Blueprint:
    spec = ResourceSpec(
        name="Carts",
        kind="map",
        location=SourceLocation(file="app.py", line=3),
        key_type=read,
    )
    return Blueprint(app=app, resources=(spec,))


def _catalog(name: str = "aws", latency: float = 10.0) -> Catalog:
    backend = Backend(
        name="dynamodb",
        description="d",
        kinds=("map",),
        implementation="dynamodb",
        performance=Performance(read_latency_ms=latency, durability="durable", availability=99.99),
        regions=("us-east-1",),
        price=_price(0.0),
    )
    return Catalog(
        schema_version=1, name=name, provider="aws", region="us-east-1", backends=(backend,)
    )


def test_is_stale_reports_each_reason() -> None:
    blueprint, catalog = _blueprint(), _catalog()
    fresh = _plan(blueprint_hash=blueprint.content_hash(), catalog_hash=catalog.content_hash())
    assert is_stale(fresh, blueprint, catalog) == []
    assert is_stale(fresh, _blueprint(read="str"), catalog) == [
        "declarations changed since the plan was made"
    ]
    assert is_stale(fresh, blueprint, _catalog(latency=5.0)) == [
        "catalog 'aws' changed since the plan was made"
    ]
    other = is_stale(fresh, _blueprint(app="blog"), _catalog(name="aws-eu"))
    assert other[0] == "the lock is for app 'shop', not 'blog'"
    assert "declarations changed since the plan was made" in other
    assert "planned against catalog 'aws' (aws), not 'aws-eu' (aws)" in other[-1]


def test_lock_gets_the_permissions_of_a_plain_write(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    plain = tmp_path / "plain"
    plain.write_text("x")
    write_lock(_plan(), path)
    assert path.stat().st_mode == plain.stat().st_mode
    path.chmod(0o640)
    write_lock(_plan(total_monthly_cost=2.0), path)
    assert path.stat().st_mode & 0o777 == 0o640


SCHEMA2 = Path(__file__).parent / "locks" / "shop-aws-schema2.lock"
"""A lock written by the Skaal before schema 3 (the shop on aws, planned twice).

Its ``catalog_hash`` (and so its ``plan_hash``) is updated when ``catalogs/aws.toml``
changes, so it stays a fresh lock of today's catalog: read it with ``read_lock``,
``model_copy`` the new ``catalog_hash`` in, and write it back with ``lock_text``."""


def test_a_schema_2_lock_is_read_with_its_own_hash() -> None:
    plan = read_lock(SCHEMA2)
    assert plan is not None
    assert plan.schema_version == 2
    assert f'plan_hash = "{plan.content_hash()}"' in SCHEMA2.read_text()
    assert {p.mode for p in plan.prices} == {None}


def test_a_schema_2_lock_anchors_stability_and_is_upgraded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "examples", tmp_path / "examples")
    shutil.copy(SCHEMA2, tmp_path / "skaal.lock")
    monkeypatch.chdir(tmp_path)
    old = read_lock(tmp_path / "skaal.lock")
    assert old is not None
    result = CliRunner().invoke(
        cli, ["plan", "examples/shop/app.py:app", "--target", "aws", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # nothing moves (the total may differ: the lock was priced by an older Skaal)
    moved = [c for c in data["diff"]["changed"] if c["old"]["backend"] != c["new"]["backend"]]
    assert moved == []
    assert data["diff"]["added"] == []
    assert data["diff"]["removed"] == []
    new = read_lock(tmp_path / "skaal.lock")
    assert new is not None
    assert new.schema_version == PLAN_SCHEMA_VERSION
    assert [(b.resource, b.backend) for b in new.bindings] == [
        (b.resource, b.backend) for b in old.bindings
    ]


def test_an_edited_schema_2_lock_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "skaal.lock"
    path.write_text(SCHEMA2.read_text().replace("amount = 0.115", "amount = 0.1"))
    with pytest.raises(PlanError, match="edited by hand"):
        read_lock(path)


SCHEMA3 = Path(__file__).parent / "locks" / "shop-aws-schema3.lock"
"""A lock written by the Skaal before schema 4 (the shop on aws), before plans recorded
the consistency each map is served with and the price of eventual reads.

Its ``catalog_hash`` is refreshed like :data:`SCHEMA2`'s when ``catalogs/aws.toml``
changes."""


def _eventual_plan() -> Plan:
    """:func:`_plan` with Carts served eventual on a price that says what that costs."""
    plan = _plan()
    carts = plan.bindings[0].model_copy(
        update={
            "consistency": "eventual",
            "cost": (
                CostLine(component="per_gb_month", quantity=2.0, monthly=0.2),
                CostLine(component="eventual per_million_reads", quantity=1.314, monthly=0.16425),
            ),
            "monthly_cost": 0.36425,
        }
    )
    factor = ReadFactor(factor=0.5, source=SOURCE, as_of="2026-12-04", note="half a unit")
    dynamodb = UsedPrice(
        backend="dynamodb",
        price=_price(0.0).model_copy(
            update={
                "per_million_reads": PriceItem(amount=0.125, source=SOURCE, as_of="2026-11-22"),
                "eventual_reads": factor,
            }
        ),
    )
    return plan.model_copy(
        update={"bindings": (carts, *plan.bindings[1:]), "prices": (dynamodb, *plan.prices[1:])}
    )


def test_the_served_consistency_and_the_eventual_price_round_trip(tmp_path: Path) -> None:
    plan = _eventual_plan()
    path = write_lock(plan, tmp_path / "skaal.lock")
    data = tomllib.loads(path.read_text())
    assert data["schema_version"] == PLAN_SCHEMA_VERSION == 7
    assert data["bindings"][0]["consistency"] == "eventual"
    assert "consistency" not in data["bindings"][1]  # none recorded: absent, not null
    assert data["prices"][0]["price"]["eventual_reads"] == {
        "factor": 0.5,
        "source": SOURCE,
        "as_of": "2026-12-04",
        "note": "half a unit",
    }
    again = read_lock(path)
    assert again == plan
    assert again is not None
    assert again.binding("Carts").consistency == "eventual"


def test_the_plan_hash_covers_the_served_consistency(tmp_path: Path) -> None:
    path = write_lock(_eventual_plan(), tmp_path / "skaal.lock")
    path.write_text(path.read_text().replace('consistency = "eventual"', 'consistency = "strong"'))
    with pytest.raises(PlanError, match="edited by hand"):
        read_lock(path)


def test_a_schema_3_lock_is_read_with_its_own_hash() -> None:
    plan = read_lock(SCHEMA3)
    assert plan is not None
    assert plan.schema_version == 3
    assert f'plan_hash = "{plan.content_hash()}"' in SCHEMA3.read_text()
    assert {b.consistency for b in plan.bindings} == {None}  # read strong by the runtime
    assert {p.price.eventual_reads for p in plan.prices} == {None}


def test_a_schema_3_lock_anchors_stability_and_records_the_consistency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "examples", tmp_path / "examples")
    shutil.copy(SCHEMA3, tmp_path / "skaal.lock")
    monkeypatch.chdir(tmp_path)
    old = read_lock(tmp_path / "skaal.lock")
    assert old is not None
    result = CliRunner().invoke(cli, ["plan", "examples/shop/app.py:app", "--target", "aws"])
    assert result.exit_code == 0, result.output
    new = read_lock(tmp_path / "skaal.lock")
    assert new is not None
    assert new.schema_version == PLAN_SCHEMA_VERSION
    assert [(b.resource, b.backend) for b in new.bindings] == [
        (b.resource, b.backend) for b in old.bindings
    ]
    # the shop declares no consistency: its maps and collections cost what they did (the
    # total moves: schema 5 prices what the build creates around the resources)
    data = [b.resource for b in old.bindings if b.kind in ("map", "collection")]
    assert [new.binding(r).cost for r in data] == [old.binding(r).cost for r in data]
    served = {b.resource: b.consistency for b in new.bindings if b.kind in ("map", "collection")}
    assert served
    assert set(served.values()) == {"strong"}
    assert {b.consistency for b in new.bindings if b.kind not in ("map", "collection")} == {None}


def test_an_older_schema_cannot_carry_what_its_hash_would_not_cover() -> None:
    plan = _eventual_plan()
    with pytest.raises(ValueError, match="schema 3 has no consistency"):
        Plan.model_validate({**plan.model_dump(), "schema_version": 3})
    strong = plan.model_copy(
        update={
            "bindings": tuple(b.model_copy(update={"consistency": None}) for b in plan.bindings)
        }
    )
    with pytest.raises(ValueError, match="schema 2 has no eventual_reads"):
        Plan.model_validate({**strong.model_dump(), "schema_version": 2})


def test_only_maps_and_collections_have_a_read_consistency() -> None:
    with pytest.raises(ValueError, match="a queue has no read consistency"):
        Binding(
            resource="Jobs",
            kind="queue",
            backend="sqs",
            implementation="sqs",
            region="us-east-1",
            consistency="eventual",
            monthly_cost=0.0,
            reason="test",
        )


SCHEMA4 = Path(__file__).parent / "locks" / "shop-aws-schema4.lock"
"""A lock written by the Skaal before schema 5 (the shop on aws): no backups, retention or
prices of what the build creates around the resources.  Its ``catalog_hash`` is refreshed
like :data:`SCHEMA2`'s."""


def test_a_schema_4_lock_is_read_with_its_own_hash() -> None:
    plan = read_lock(SCHEMA4)
    assert plan is not None
    assert plan.schema_version == 4
    assert f'plan_hash = "{plan.content_hash()}"' in SCHEMA4.read_text()
    assert plan.log_retention_days is None
    assert all(b.backup is None and b.retention is None for b in plan.bindings)
    assert lock_text(plan) == SCHEMA4.read_text()  # written back as it was read


def test_a_schema_4_plan_cannot_carry_a_backup() -> None:
    plan = read_lock(SCHEMA4)
    assert plan is not None
    data = plan.model_dump()
    data["log_retention_days"] = 30
    with pytest.raises(ValueError, match="schema 4 has no log_retention_days"):
        Plan.model_validate(data)


def test_a_schema_4_lock_is_not_built_until_a_plan_that_moves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "examples", tmp_path / "examples")
    shutil.copy(SCHEMA4, tmp_path / "skaal.lock")
    monkeypatch.chdir(tmp_path)
    old = read_lock(tmp_path / "skaal.lock")
    assert old is not None
    runner = CliRunner()
    shop = "examples/shop/app.py:app"
    refused = runner.invoke(cli, ["build", shop, "--target", "aws", "--out", "out"])
    assert refused.exit_code != 0
    assert "written by an older Skaal (schema 4)" in refused.output
    assert "run skaal plan, which records them and moves nothing" in refused.output
    planned = runner.invoke(cli, ["plan", shop, "--target", "aws"])
    assert planned.exit_code == 0, planned.output
    new = read_lock(tmp_path / "skaal.lock")
    assert new is not None
    assert new.schema_version == PLAN_SCHEMA_VERSION == 7
    assert [(b.resource, b.backend) for b in new.bindings] == [
        (b.resource, b.backend) for b in old.bindings
    ]
    assert new.log_retention_days == 30
    built = runner.invoke(cli, ["build", shop, "--target", "aws", "--out", "out"])
    assert built.exit_code == 0, built.output


SCHEMA5 = Path(__file__).parent / "locks" / "shop-aws-schema5.lock"
"""A lock written by the Skaal before schema 6 (the shop on aws): no adopted resources.
Its ``catalog_hash`` is refreshed like :data:`SCHEMA2`'s."""


def test_a_schema_5_lock_is_read_as_written_and_is_not_stale() -> None:
    plan = read_lock(SCHEMA5)
    assert plan is not None
    assert plan.schema_version == 5
    assert f'plan_hash = "{plan.content_hash()}"' in SCHEMA5.read_text()
    assert all(b.adopted is None for b in plan.bindings)
    assert lock_text(plan) == SCHEMA5.read_text()  # written back as it was read
    # an app adopting nothing keeps its blueprint hash: the lock is still current and builds
    shop = load_app("examples/shop/app.py:app", cwd=Path(__file__).resolve().parents[2])
    assert is_stale(plan, shop.blueprint(), load_catalog("aws")) == []
    assert plan.schema_version >= BUILDABLE_SCHEMA_VERSION


def test_a_schema_5_plan_cannot_carry_an_adopted_resource() -> None:
    plan = read_lock(SCHEMA5)
    assert plan is not None
    data = plan.model_dump()
    data["bindings"][0]["adopted"] = "legacy-carts"
    with pytest.raises(ValueError, match="schema 5 has no adopted"):
        Plan.model_validate(data)


def test_an_adopted_binding_round_trips_and_is_hashed(tmp_path: Path) -> None:
    plan = _plan()
    first = plan.bindings[0].model_copy(update={"adopted": "legacy-carts"})
    adopted = plan.model_copy(update={"bindings": (first, *plan.bindings[1:])})
    path = write_lock(adopted, tmp_path / "skaal.lock")
    assert read_lock(path) == adopted
    assert adopted.content_hash() != plan.content_hash()
    path.write_text(path.read_text().replace('adopted = "legacy-carts"', 'adopted = "other"'))
    with pytest.raises(PlanError, match="edited by hand"):
        read_lock(path)


@pytest.mark.parametrize("run", [1, 2, 1_000])
def test_a_lock_read_a_run_of_bindings_at_a_time_is_the_whole_lock(run: int) -> None:
    # read_lock parses and validates the bindings a run at a time (a 100,000
    # resource lock at once peaks near 1 GB); each fixture lock, cut into
    # runs of 1, 2 or 1,000 bindings, gives the plan the whole text gives.
    locks = sorted((Path(__file__).parent / "locks").glob("*.lock"))
    assert locks
    for path in locks:
        text = path.read_text(encoding="utf-8")
        whole = rtoml.loads(text)
        whole.pop("plan_hash", None)
        data = _read_in_runs(text, run)
        assert data is not None, path.name
        data.pop("plan_hash", None)
        assert Plan.model_validate(data) == Plan.model_validate(whole), path.name


def test_a_binding_that_does_not_validate_in_a_later_run_names_its_place(
    tmp_path: Path,
) -> None:
    bindings = tuple(_plan().bindings[0].model_copy(update={"resource": f"R{i}"}) for i in range(5))
    text = lock_text(_plan(bindings=bindings)).replace('resource = "R3"', "resource = 3")
    assert _read_in_runs(text, 2) is None
    path = tmp_path / "skaal.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError, match=r"bindings\.3\.resource"):
        read_lock(path)


def test_bindings_read_from_a_lock_hold_equal_records_once() -> None:
    # a 100,000-resource lock repeats the same cost line and backup in most
    # bindings: read_lock holds each once, and the plan is the one validated plainly
    bindings = tuple(_plan().bindings[0].model_copy(update={"resource": f"R{i}"}) for i in range(4))
    text = lock_text(_plan(bindings=bindings))
    data = _read_in_runs(text, 2)
    assert data is not None
    read = data["bindings"]
    plain = [Binding.model_validate(b) for b in rtoml.loads(text)["bindings"]]
    assert read == plain
    assert all(b.cost[0] is read[0].cost[0] for b in read)
    assert plain[1].cost[0] is not plain[0].cost[0]


def test_a_copy_of_a_read_binding_leaves_the_others_as_they_were() -> None:
    bindings = tuple(_plan().bindings[0].model_copy(update={"resource": f"R{i}"}) for i in range(3))
    data = _read_in_runs(lock_text(_plan(bindings=bindings)), 1)
    assert data is not None
    first, second = data["bindings"][:2]
    moved = first.model_copy(update={"instance": "redis#1", "cost": ()})
    assert (moved.instance, moved.cost) == ("redis#1", ())
    assert first.instance is None
    assert second.instance is None
    assert first.cost
    assert second.cost[0] is first.cost[0]
    assert second.model_dump() == first.model_dump() | {"resource": "R1"}


def test_a_lock_whose_nested_record_is_not_a_table_is_read_whole_for_its_error(
    tmp_path: Path,
) -> None:
    bindings = tuple(_plan().bindings[0].model_copy(update={"resource": f"R{i}"}) for i in range(3))
    text = lock_text(_plan(bindings=bindings))
    text = text.replace('resource = "R2"', 'resource = "R2"\nbackup = 7', 1)
    assert _read_in_runs(text, 1) is None
    path = tmp_path / "skaal.lock"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError, match=r"bindings\.2\.backup"):
        read_lock(path)


def test_a_binding_in_a_plan_is_checked_where_the_plan_is_read() -> None:
    """The checks across a binding's fields hold for a binding read as part of a plan."""
    plan = _eventual_plan()
    data = plan.model_dump()
    assert data["bindings"][0]["consistency"] == "eventual"
    data["bindings"][0]["kind"] = "queue"
    with pytest.raises(ValueError, match="a queue has no read consistency") as caught:
        Plan.model_validate(data)
    assert error_path(caught.value)[0] == "bindings.0"
    data = plan.model_dump()
    origin = dict(data["bindings"][0], resource="Elsewhere")
    data["bindings"][0]["moving_from"] = origin
    with pytest.raises(ValueError, match="must be a binding of the same resource"):
        Plan.model_validate(data)
