"""Schema-1 catalogs keep loading: ``[shared]`` becomes one instance class."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_samples import BASE, BASE_V1, BASE_V1_AS_V2, Write

from skaal.catalog import CatalogValidationError, load_catalog, resolve_catalog
from skaal.errors import CatalogError
from skaal.solver import solve
from tests.solver._factories import blueprint, res


def test_shared_becomes_one_standard_class(write: Write) -> None:
    catalog = load_catalog(write("old.toml", BASE_V1))
    assert catalog.schema_version == 2
    redis = catalog.backend("redis")
    assert redis.server is not None
    (standard,) = redis.server.classes
    assert standard.name == "standard"
    assert (standard.size_gb, standard.price.amount) == (0.5, 12.41)
    assert standard.price.source == "https://example.com/redis"
    assert (redis.server.quota, redis.server.min_disk_gb) == (4, 0.0)
    assert redis.price.fixed_monthly is None  # the fee left the backend's price
    assert redis.price.per_gb_month is not None  # other components stay


def test_an_old_file_loads_as_its_schema_2_translation(write: Write) -> None:
    old = load_catalog(write("old.toml", BASE_V1))
    new = load_catalog(write("new.toml", BASE_V1_AS_V2))
    assert old.content_hash() == new.content_hash()


def test_an_old_file_plans_the_same_resources(write: Write) -> None:
    app = blueprint(
        res("Carts", size_gb=2.0),
        res("Sessions", read_latency="<= 2ms", size_gb=0.1),
        res("Tokens", read_latency="<= 2ms", size_gb=0.1),
    )
    old = solve(app, load_catalog(write("old.toml", BASE_V1)))
    new = solve(app, load_catalog(write("new.toml", BASE_V1_AS_V2)))
    assert old.status == new.status == "optimal"
    assert old.bindings == new.bindings
    assert old.instances == new.instances
    assert old.total_monthly_cost == new.total_monthly_cost
    assert old.binding("Sessions").backend == "redis"


def test_the_default_max_instances_is_one(write: Write) -> None:
    text = BASE_V1.replace("max_instances = 4\n", "")
    redis = load_catalog(write("old.toml", text)).backend("redis")
    assert redis.server is not None
    assert redis.server.quota == 1


def test_a_problem_in_a_converted_table_names_the_key_as_written(write: Write) -> None:
    text = BASE_V1.replace("size_gb = 0.5", "size_gb = -0.5")
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(write("old.toml", text))
    (problem,) = info.value.problems
    line = text.splitlines().index("size_gb = -0.5") + 1
    assert (problem.line, problem.table, problem.key) == (
        line,
        "[backends.redis.shared]",
        "size_gb",
    )
    assert problem.message == "size_gb = -0.5: input should be greater than 0"
    assert problem.fix == "change size_gb in [backends.redis.shared] so that it is valid"


def test_a_shared_backend_without_an_instance_fee_is_an_error(write: Write) -> None:
    text = BASE_V1.replace(
        'fixed_monthly = { amount = 12.41, source = "https://example.com/redis", '
        'as_of = "2026-11-22" }\n',
        "",
    )
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(write("old.toml", text))
    (problem,) = info.value.problems
    assert (problem.table, problem.key) == ("[backends.redis]", "shared")
    assert problem.message == (
        "shared backend 'redis' has no price.fixed_monthly, the fee of one instance"
    )
    assert "(amount = 0.0 for a free server)" in problem.fix


def test_schema_1_children_layer_on_schema_1_bases(write: Write) -> None:
    write("base.toml", BASE_V1)
    child = write(
        "child.toml",
        'schema_version = 1\nname = "child"\nextends = "base.toml"\n'
        "[backends.redis.shared]\nmax_instances = 2\nsize_gb = 1.0\n"
        "[backends.redis.price]\nfixed_monthly.amount = 20.0\n",
    )
    server = load_catalog(child).backend("redis").server
    assert server is not None
    (standard,) = server.classes
    assert (server.quota, standard.size_gb, standard.price.amount) == (2, 1.0, 20.0)
    assert standard.price.source == "https://example.com/redis"


def test_a_schema_1_child_removes_shared(write: Write) -> None:
    write("base.toml", BASE_V1)
    child = write(
        "child.toml",
        'schema_version = 1\nname = "child"\nextends = "base.toml"\n'
        '[backends.redis]\nremove = ["shared"]\n'
        "[backends.redis.price]\nfixed_monthly = "
        '{ amount = 1.0, source = "https://x", as_of = "2026-12-03" }\n',
    )
    redis = load_catalog(child).backend("redis")
    assert redis.server is None
    assert redis.price.fixed_monthly is not None


def test_a_schema_1_child_sets_the_quota_of_a_schema_2_base(write: Write) -> None:
    write("base.toml", BASE)
    child = write(
        "child.toml",
        'schema_version = 1\nname = "child"\nextends = "base.toml"\n'
        "[backends.redis.shared]\nmax_instances = 3\n",
    )
    server = load_catalog(child).backend("redis").server
    assert server is not None
    assert server.quota == 3
    assert [c.name for c in server.classes] == ["cache.small", "cache.large"]


@pytest.mark.parametrize(
    ("body", "located", "message"),
    [
        (
            "[backends.redis.shared]\nsize_gb = 1.0\n",
            "4 [backends.redis] shared",
            "schema-1 [shared] capacity cannot apply to 'redis': the catalog it extends gives "
            "it named instance classes",
        ),
        (
            "[backends.redis.price]\nfixed_monthly.amount = 20.0\n",
            "5 [backends.redis.price] fixed_monthly",
            "a schema-1 instance fee (fixed_monthly) cannot apply to 'redis': the catalog it "
            "extends prices each of its instance classes",
        ),
    ],
)
def test_schema_1_figures_for_named_classes_ask_for_schema_2(
    write: Write, body: str, located: str, message: str
) -> None:
    write("base.toml", BASE)
    child = write(
        "child.toml", f'schema_version = 1\nname = "child"\nextends = "base.toml"\n{body}'
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(child)
    text = str(info.value)
    assert f"child.toml:{located}: {message}" in text
    assert (
        "fix: write this file with schema_version = 2 and set the figures in "
        "[backends.redis.server.classes.NAME] (classes: cache.small, cache.large)"
    ) in text


def test_a_schema_1_file_gets_a_warning(write: Write) -> None:
    warnings = resolve_catalog(write("old.toml", BASE_V1)).warnings
    assert len(warnings) == 1
    assert "old.toml: schema_version 1 is read as schema 2" in warnings[0]


def test_the_benchmark_snapshots_keep_todays_limits() -> None:
    root = Path(__file__).resolve().parents[2] / "solver" / "catalogs"
    for name in ("aws-2026-11.toml", "gcp-2026-11.toml"):
        text = (root / name).read_text(encoding="utf-8")
        assert text.splitlines()[0].startswith("# Schema-1 catalog of November 2026")
        servers = [b for b in load_catalog(root / name).backends if b.server is not None]
        assert len(servers) >= 2
        for b in servers:
            assert b.server is not None
            assert len(b.server.classes) == 1
            assert b.server.quota == 4
