from __future__ import annotations

from pathlib import Path

import pytest
from catalog_samples import BASE, Write

from skaal.catalog import load_catalog, resolve_catalog
from skaal.errors import CatalogError

CHILD_HEAD = """\
schema_version = 2
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
    assert catalog.names() == ("redis", "tables", "dynamodb")
    assert catalog.sources == (str(base.resolve()),)
    assert catalog.schema_version == 2
    redis = catalog.backend("redis")
    assert redis.server is not None
    assert redis.server.quota == 300
    assert redis.server.classes[0].price.amount == 12.41


def test_child_overrides_key_by_key_and_keeps_parent_order(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + NEW_BACKEND
        + """
[backends.redis.performance]
read_latency_ms = 0.5

[backends.dynamodb.price]
per_gb_month.amount = 0.2
""",
    )
    catalog = load_catalog(child)
    assert catalog.name == "child"
    assert catalog.provider == "aws"  # inherited
    assert catalog.names() == ("redis", "tables", "dynamodb", "memory")
    redis = catalog.backend("redis")
    assert redis.performance.read_latency_ms == 0.5
    assert redis.performance.write_latency_ms == 1.0  # untouched sibling key
    fee = catalog.backend("dynamodb").price.per_gb_month
    assert fee is not None
    assert fee.amount == 0.2
    assert fee.source == "https://example.com/ddb"
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
remove = ["limits.max_size_gb", "capabilities"]

[backends.tables]
remove = ["modes.provisioned"]
""",
    )
    catalog = load_catalog(child)
    assert catalog.names() == ("redis", "tables")
    redis = catalog.backend("redis")
    assert redis.limits.max_size_gb is None
    assert redis.capabilities == ()
    assert [m.name for m in catalog.backend("tables").modes] == ["on-demand"]


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
    assert catalog.names() == ("tables", "dynamodb", "redis")
    assert catalog.backend("redis").implementation == "memory"


def test_three_level_chain_and_origins(base: Path, write: Write) -> None:
    write("mid/mid.toml", CHILD_HEAD.replace("base.toml", "../base.toml").replace("child", "mid"))
    top = write(
        "top.toml",
        'schema_version = 2\nname = "top"\nextends = "mid/mid.toml"\n'
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
    child = write("mine.toml", 'schema_version = 2\nname = "mine"\nextends = "local"\n')
    catalog = load_catalog(child)
    assert catalog.provider == "local"
    assert catalog.names() == load_catalog("local").names()
    assert catalog.sources[-1] == str(child.resolve())


def test_cycle_is_an_error(write: Write) -> None:
    write("a.toml", 'schema_version = 2\nname = "a"\nextends = "b.toml"\n')
    b = write("b.toml", 'schema_version = 2\nname = "b"\nextends = "a.toml"\n')
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
        ('[backends.redis]\nremove = ["servr"]\n', "did you mean 'server'"),
        ('[backends.other]\nremove = ["server"]\n', "base catalog has no such backend"),
        ('[backends.redis]\nremove = "server"\n', "remove must be a list"),
        ('[backends.redis]\nremove = ["server.classes.cache.large"]\n', "has no field 'cache'"),
        ("[backends.redis]\nremove = ['server.classes.\"cache']\n", "it is not a dotted key"),
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


def test_a_child_changes_one_class_key_by_key(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + """
[backends.redis.server.classes."cache.small"]
price.amount = 20.0
price.as_of = "2026-12-03"
""",
    )
    resolved = resolve_catalog(child)
    server = resolved.catalog.backend("redis").server
    assert server is not None
    small = server.instance_class("cache.small")
    assert (small.price.amount, small.price.as_of) == (20.0, "2026-12-03")
    assert small.price.source == "https://example.com/redis"  # inherited
    assert small.size_gb == 0.5  # inherited
    assert server.instance_class("cache.large").price.amount == 99.0  # untouched class
    origins = resolved.origins["redis"]
    assert origins['server.classes."cache.small".price.amount'].endswith("child.toml")
    assert origins['server.classes."cache.small".price.source'].endswith("base.toml")


def test_a_child_adds_a_class_after_the_inherited_ones(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + """
[backends.redis.server]
quota = 50

[backends.redis.server.classes."cache.medium"]
price = { amount = 40.0, source = "https://example.com/redis", as_of = "2026-12-03" }
size_gb = 3.0
""",
    )
    server = load_catalog(child).backend("redis").server
    assert server is not None
    assert [c.name for c in server.classes] == ["cache.small", "cache.large", "cache.medium"]
    assert server.quota == 50
    assert server.quota_source == "https://example.com/quotas"


def test_a_child_removes_a_class_whose_name_has_dots(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD + "[backends.redis]\nremove = ['server.classes.\"cache.large\"']\n",
    )
    server = load_catalog(child).backend("redis").server
    assert server is not None
    assert [c.name for c in server.classes] == ["cache.small"]


def test_removing_a_dotted_class_name_unquoted_explains_the_quoting(
    base: Path, write: Write
) -> None:
    child = write(
        "child.toml", CHILD_HEAD + '[backends.redis]\nremove = ["server.classes.cache.large"]\n'
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(child)
    message = str(info.value)
    assert "cannot remove 'server.classes.cache.large': server.classes has no field 'cache'" in (
        message
    )
    assert "a name containing dots is quoted: 'server.classes.\"cache.large\"'" in message


def test_removing_every_class_is_an_error(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + "[backends.redis]\nremove = ['server.classes.\"cache.large\"', "
        + "'server.classes.\"cache.small\"']\n",
    )
    with pytest.raises(CatalogError, match="a server backend needs at least one instance class"):
        load_catalog(child)


def test_a_child_changes_one_mode(base: Path, write: Write) -> None:
    child = write(
        "child.toml",
        CHILD_HEAD
        + """
[backends.tables.modes.provisioned]
target_utilisation = 0.5
price.per_read_per_s_month.amount = 0.08
""",
    )
    tables = load_catalog(child).backend("tables")
    provisioned = tables.modes[1]
    assert provisioned.target_utilisation == 0.5
    item = provisioned.price.per_read_per_s_month
    assert item is not None
    assert (item.amount, item.source) == (0.08, "https://x.example")
