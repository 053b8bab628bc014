from __future__ import annotations

from pathlib import Path

import pytest
from catalog_samples import BASE, Write

from skaal.catalog import CatalogValidationError, load_catalog, validate_catalog
from skaal.errors import CatalogError


def _problems(path: Path) -> list[str]:
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(path)
    assert info.value.exit_code == 2
    return [p.render() for p in info.value.problems]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "located", "message"),
    [
        (
            'kinds = ["map", "queue"]',
            'kinds = ["map", "queue"]\nkind = "map"',
            "[backends.redis] kind",
            "unknown key kind (did you mean 'kinds'?)",
        ),
        (
            "availability = 99.9",
            'availability = "99.9"',
            "[backends.redis.performance] availability",
            "availability must be a number, not string '99.9'",
        ),
        (
            'durability = "persistent"\n',
            'durability = "persistant"\n',
            "[backends.redis.performance] durability",
            "'persistant' is not a valid durability (did you mean 'persistent'?)",
        ),
        (
            'consistency = ["eventual"]',
            'consistency = ["eventual", "eventualy"]',
            "[backends.redis.performance] consistency[1]",
            "did you mean 'eventual'?",
        ),
        (
            'kinds = ["map", "queue"]',
            'kinds = ["map", "cache"]',
            "[backends.redis] kinds[1]",
            "'cache' is not a valid kinds",
        ),
        (
            'capabilities = ["ttl", "atomic_ops"]',
            'capabilities = ["ttl", "atomic-ops"]',
            "[backends.redis] capabilities[1]",
            "unknown capability 'atomic-ops' (did you mean 'atomic_ops'?)",
        ),
        (
            'implementation = "redis"\n',
            "",
            "[backends.redis] implementation",
            "missing required key implementation",
        ),
        (
            'source = "https://example.com/redis", ',
            "",
            '[backends.redis.server.classes."cache.small".price] source',
            "missing required key source",
        ),
        (
            'as_of = "2026-11-22" }\nsize_gb = 0.5',
            "as_of = 2026-11-22 }\nsize_gb = 0.5",
            '[backends.redis.server.classes."cache.small".price] as_of',
            "as_of must be a quoted string",
        ),
        (
            'region = "us-east-1"\n\n[backends.tables]',
            'region = "ap-south-1"\n\n[backends.tables]',
            "[backends.redis.price] region",
            "price region 'ap-south-1' is not one of the backend's regions",
        ),
        (
            "max_size_gb = 25.0",
            "max_size_gb = -1.0",
            "[backends.redis.limits] max_size_gb",
            "greater than 0",
        ),
        (
            'price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", '
            'as_of = "2026-11-22" }\nprice.per_million_reads = { amount = 0.125, '
            'source = "https://example.com/ddb", as_of = "2026-11" }\n',
            "",
            "[backends.dynamodb] price",
            "the price has no component",
        ),
        (
            'provider = "aws"',
            'provider = "azure"',
            "top level provider",
            "'azure' is not a valid provider",
        ),
        (
            "schema_version = 2",
            "schema_version = 2\nowner = 'x'",
            "top level owner",
            "unknown key owner",
        ),
    ],
)
def test_each_problem_names_file_line_table_and_key(
    write: Write, old: str, new: str, located: str, message: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    path = write("cat.toml", text)
    problems = _problems(path)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert f" {located}: " in problem
    assert message in problem
    assert "fix: " in problem
    assert problem.startswith("cat.toml:") or "/cat.toml:" in problem.split(" ")[0]


def test_line_numbers_point_at_the_key(write: Write) -> None:
    text = BASE.replace("availability = 99.9\n", 'availability = "high"\n')
    path = write("cat.toml", text)
    (problem,) = _problems(path)
    line = _line(text, "availability = ")
    assert f"cat.toml:{line} " in problem


def test_all_problems_are_reported_at_once(write: Write) -> None:
    text = (
        BASE.replace("availability = 99.9\n", 'availability = "x"\n')
        .replace('kinds = ["map", "collection"]', 'kinds = ["map", "colection"]')
        .replace('capabilities = ["ttl", "atomic_ops"]', 'capabilities = ["tll"]')
    )
    path = write("cat.toml", text)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert "3 problems in catalog" in message
    assert "did you mean 'collection'" in message
    assert "did you mean 'ttl'" in message
    assert "availability must be a number" in message
    assert "try: skaal catalog validate" in message
    assert "ValidationError" not in message
    assert "pydantic" not in message


def test_toml_syntax_error_names_line(write: Write) -> None:
    path = write("cat.toml", BASE.replace("availability = 99.9", "availability = = 99.9"))
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    line = _line(BASE, "availability = 99.9")
    assert f"cat.toml:{line}: TOML syntax error" in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "schema_version = 2",
            "schema_version = 3",
            r"unsupported schema_version 3 \(this "
            r"Skaal reads 1, 2\)",
        ),
        ("schema_version = 2\n", "", "missing required key schema_version"),
        ('name = "base"\n', "", "missing required key name"),
    ],
)
def test_header_problems(write: Write, old: str, new: str, message: str) -> None:
    path = write("cat.toml", BASE.replace(old, new, 1))
    with pytest.raises(CatalogError, match=message):
        load_catalog(path)


def test_price_item_without_a_table_explains_the_shape(write: Write) -> None:
    text = BASE.replace(
        'price.per_million_reads = { amount = 0.125, source = "https://example.com/ddb", '
        'as_of = "2026-11" }',
        "price.per_million_reads = 0.125",
    )
    (problem,) = _problems(write("cat.toml", text))
    assert "[backends.dynamodb.price] per_million_reads" in problem
    assert "must be a table" in problem
    assert "source =" in problem


def test_backend_name_key_is_rejected(write: Write) -> None:
    text = BASE.replace('description = "Redis node"', 'description = "Redis node"\nname = "r"')
    (problem,) = _problems(write("cat.toml", text))
    assert "[backends.redis] name" in problem


def test_error_in_inherited_file_blames_that_file(write: Write) -> None:
    base = write("base.toml", BASE.replace('implementation = "redis"\n', ""))
    child = write(
        "child.toml",
        'schema_version = 2\nname = "c"\nextends = "base.toml"\n'
        "[backends.redis.performance]\nspeed = 1\n",
    )
    problems = _problems(child)
    assert len(problems) == 2
    assert any(p.startswith(f"{base.name}:") or "base.toml:" in p.split()[0] for p in problems)
    assert any("child.toml:5 [backends.redis.performance] speed" in p for p in problems)


def test_warnings_for_unregistered_implementations(write: Write) -> None:
    text = BASE.replace(
        'implementation = "dynamodb"\nregions = ["us-east-1"]\nperformance = '
        '{ durability = "durable", availability = 99.99, read_latency_ms = 10.0 }\nprice',
        'implementation = "cassandra"\nregions = ["us-east-1"]\nperformance = '
        '{ durability = "durable", availability = 99.99, read_latency_ms = 10.0 }\nprice',
    )
    path = write("cat.toml", text)
    warnings = validate_catalog(path)
    assert len(warnings) == 1
    assert "[backends.dynamodb] implementation" in warnings[0]
    assert "'cassandra'" in warnings[0]
    assert load_catalog(path).backend("dynamodb").implementation == "cassandra"


@pytest.mark.parametrize(
    ("old", "new", "located", "message"),
    [
        (
            'requires = ["vpc"]\n',
            "",
            "[backends.redis] implementation",
            "the aws build reaches 'redis' through a VPC, but 'redis' does not say "
            'requires = ["vpc"], so plans would not price the VPC; add it',
        ),
        (
            'implementation = "dynamodb"\nregions = ["us-east-1"]\nperformance',
            'implementation = "dynamodb"\nrequires = ["vpc"]\nregions = ["us-east-1"]\nperformance',
            "[backends.tables] requires",
            "'tables' says requires = [\"vpc\"], but the aws build of 'dynamodb' creates no VPC, "
            "so plans would price one nobody builds; remove it",
        ),
    ],
)
def test_a_vpc_need_the_build_disagrees_with_is_a_warning(
    write: Write, old: str, new: str, located: str, message: str
) -> None:
    assert old in BASE
    (warning,) = validate_catalog(write("cat.toml", BASE.replace(old, new, 1)))
    assert located in warning
    assert warning.endswith(message)


def test_a_valid_file_has_no_warnings(base: Path) -> None:
    assert validate_catalog(base) == []


def test_a_catalog_without_backends_is_an_error(write: Write) -> None:
    head = BASE.split("[backends.redis]")[0]
    (problem,) = _problems(write("cat.toml", head))
    assert "top level backends: the catalog has no backends" in problem
