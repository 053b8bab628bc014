from __future__ import annotations

from pathlib import Path

import pytest
from catalog_samples import BASE, Write

from skaal.catalog import load_catalog, resolve_catalog
from skaal.errors import CatalogError

CHILD_HEAD = """\
schema_version = 1
name = "child"
extends = "base.toml"
"""

NEW_BACKEND = """
[backends.memory]
description = "in process"
kinds = ["map"]
implementation = "memory"
regions = ["us-east-1"]
performance = { durability = "ephemeral", availability = 99.0 }
price.region = "us-east-1"
price.fixed_monthly = { amount = 0.0, source = "https://x", as_of = "2026-11" }
"""


def test_plain_catalog_loads_in_file_order(base: Path) -> None:
    catalog = load_catalog(base)
    assert catalog.names() == ("redis", "dynamodb")
    assert catalog.sources == (str(base.resolve()),)
    redis = catalog.backend("redis")
    assert redis.shared is not None
    assert redis.shared.max_instances == 4
    assert redis.price.items()["fixed_monthly"].amount == 12.41


def test_child_overrides_key_by_key_and_keeps_parent_order(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + NEW_BACKEND
        + """
[backends.redis.performance]
read_latency_ms = 0.5

[backends.redis.price]
fixed_monthly.amount = 20.0
""",
    )
    catalog = load_catalog(child)
    assert catalog.name == "child"
    assert catalog.provider == "aws"  # inherited
    assert catalog.names() == ("redis", "dynamodb", "memory")
    redis = catalog.backend("redis")
    assert redis.performance.read_latency_ms == 0.5
    assert redis.performance.write_latency_ms == 1.0  # untouched sibling key
    assert redis.price.fixed_monthly is not None
    assert redis.price.fixed_monthly.amount == 20.0
    assert redis.price.fixed_monthly.source == "https://example.com/redis"
    assert catalog.sources == (str(base.resolve()), str(child.resolve()))


def test_arrays_replace_rather_than_append(base: Path, write: Write) -> None:
    child = write("child.toml", CHILD_HEAD + '[backends.redis]\nkinds = ["map"]\n')
    assert load_catalog(child).backend("redis").kinds == ("map",)


def test_remove_fields_and_backends(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + """remove_backends = ["dynamodb"]

[backends.redis]
remove = ["shared", "limits.max_size_gb", "capabilities"]
""",
    )
    catalog = load_catalog(child)
    assert catalog.names() == ("redis",)
    redis = catalog.backend("redis")
    assert redis.shared is None
    assert redis.limits.max_size_gb is None
    assert redis.capabilities == ()


def test_remove_then_set_replaces_a_table_wholesale(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + """
[backends.dynamodb]
remove = ["price"]
price.region = "us-east-1"
price.per_million_requests = { amount = 1.0, source = "https://y", as_of = "2026-11-22" }
""",
    )
    price = load_catalog(child).backend("dynamodb").price
    assert set(price.items()) == {"per_million_requests"}


def test_removed_backend_can_be_redefined_at_the_end(base: Path, write: Write) -> None:
    redefined = NEW_BACKEND.replace("backends.memory", "backends.redis")
    child = write("child.toml", CHILD_HEAD + 'remove_backends = ["redis"]\n' + redefined)
    catalog = load_catalog(child)
    assert catalog.names() == ("dynamodb", "redis")
    assert catalog.backend("redis").implementation == "memory"


def test_three_level_chain_and_origins(base: Path, write: Write) -> None:
    write("mid/mid.toml", CHILD_HEAD.replace("base.toml", "../base.toml").replace("child", "mid"))
    top = write(
        "top.toml",
        'schema_version = 1\nname = "top"\nextends = "mid/mid.toml"\n'
        "[backends.redis.performance]\navailability = 99.95\n",
    )
    resolved = resolve_catalog(top)
    assert [Path(s).name for s in resolved.catalog.sources] == ["base.toml", "mid.toml", "top.toml"]
    origins = resolved.origins["redis"]
    assert origins["performance.availability"].endswith("top.toml")
    assert origins["performance.durability"].endswith("base.toml")
    assert [Path(f).name for f in resolved.defined_in("redis")] == ["base.toml", "top.toml"]
    assert resolved.catalog.backend("redis").performance.availability == 99.95


def test_extends_a_bundled_catalog_by_name(write: Write) -> None:
    child = write("mine.toml", 'schema_version = 1\nname = "mine"\nextends = "local"\n')
    catalog = load_catalog(child)
    assert catalog.provider == "local"
    assert catalog.names() == load_catalog("local").names()
    assert catalog.sources[-1] == str(child.resolve())


def test_cycle_is_an_error(write: Write) -> None:
    write("a.toml", 'schema_version = 1\nname = "a"\nextends = "b.toml"\n')
    b = write("b.toml", 'schema_version = 1\nname = "b"\nextends = "a.toml"\n')
    with pytest.raises(CatalogError, match=r"cycle: .*b\.toml -> .*a\.toml -> .*b\.toml"):
        load_catalog(b)


def test_missing_extends_target_names_the_referring_line(write: Write) -> None:
    child = write("child.toml", CHILD_HEAD.replace("base.toml", "nope.toml"))
    with pytest.raises(CatalogError) as info:
        load_catalog(child)
    message = str(info.value)
    assert "child.toml:3" in message
    assert "'nope.toml' does not exist" in message


def test_unknown_bundled_name_in_extends_suggests_one(write: Write) -> None:
    child = write("child.toml", CHILD_HEAD.replace('"base.toml"', '"locl"'))
    with pytest.raises(CatalogError, match="did you mean 'local'"):
        load_catalog(child)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('remove_backends = ["redys"]\n', "no such backend (did you mean 'redis'?)"),
        ('[backends.redis]\nremove = ["limits.max_size"]\n', "has no field 'max_size'"),
        ('[backends.redis]\nremove = ["sharred"]\n', "did you mean 'shared'"),
        ('[backends.other]\nremove = ["shared"]\n', "base catalog has no such backend"),
        ('[backends.redis]\nremove = "shared"\n', "remove must be a list"),
    ],
)
def test_dangling_removals_are_errors(base: Path, write: Write, body: str, expected: str) -> None:
    child = write("child.toml", CHILD_HEAD + body)
    with pytest.raises(CatalogError) as info:
        load_catalog(child)
    assert expected in str(info.value)
    assert "child.toml:" in str(info.value)


def test_remove_without_extends_is_an_error(write: Write) -> None:
    path = write(
        "solo.toml",
        BASE.replace(
            'region = "us-east-1"\n', 'region = "us-east-1"\nremove_backends = ["redis"]\n', 1
        ),
    )
    with pytest.raises(CatalogError, match="only applies to a catalog that extends another"):
        load_catalog(path)
