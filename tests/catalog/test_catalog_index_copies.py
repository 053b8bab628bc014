"""``index_copies``: what a collection's secondary indexes cost, validated and layered."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_samples import BASE, Write

from skaal.catalog import CatalogValidationError, load_catalog

FACTOR = 'index_copies = { factor = 1.0, source = "https://x.example/gsi", as_of = "2026-12" }'
STORAGE = (
    'price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", '
    'as_of = "2026-11-22" }\n'
)
#: BASE with its key-value store indexing collections, each index a full copy of the table.
INDEXED = BASE.replace(
    'kinds = ["map", "collection"]\nimplementation = "dynamodb"\n',
    'kinds = ["map", "collection"]\nimplementation = "dynamodb"\n'
    'capabilities = ["secondary_index"]\n',
).replace(STORAGE, f"{STORAGE}price.{FACTOR}\n")


def _problems(path: Path) -> list[str]:
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(path)
    return [p.render() for p in info.value.problems]


def test_a_catalog_with_index_copies_loads(write: Write) -> None:
    assert FACTOR in INDEXED
    copies = load_catalog(write("base.toml", INDEXED)).backend("dynamodb").price.index_copies
    assert copies is not None
    assert (copies.factor, copies.source, copies.as_of) == (1.0, "https://x.example/gsi", "2026-12")


def test_a_catalog_without_it_hashes_as_before_the_factor(write: Write) -> None:
    plain = load_catalog(write("base.toml", BASE))
    assert plain.backend("dynamodb").price.index_copies is None
    assert "index_copies" not in plain.canonical_json()
    indexed = load_catalog(write("indexed.toml", INDEXED))
    assert '"index_copies":{' in indexed.canonical_json()


@pytest.mark.parametrize(
    ("old", "new", "located", "message"),
    [
        (
            f"price.{FACTOR}",
            "price.index_copies = 1.0",
            "[backends.dynamodb.price] index_copies",
            "index_copies = { factor = 1.0, source =",
        ),
        (
            "{ factor = 1.0,",
            "{ facter = 1.0,",
            "[backends.dynamodb.price.index_copies] facter",
            "unknown key facter (did you mean 'factor'?)",
        ),
        (
            "{ factor = 1.0,",
            "{ factor = 2.0,",
            "[backends.dynamodb.price.index_copies] factor",
            "less than or equal to 1",
        ),
        (
            "{ factor = 1.0,",
            "{ factor = 0.0,",
            "[backends.dynamodb.price.index_copies] factor",
            "greater than 0",
        ),
        (
            'source = "https://x.example/gsi", ',
            "",
            "[backends.dynamodb.price.index_copies] source",
            "missing required key source",
        ),
        (
            'capabilities = ["secondary_index"]\n',
            "",
            "[backends.dynamodb.price] index_copies",
            "this backend does not index collections",
        ),
        (
            STORAGE,
            "",
            "[backends.dynamodb.price] index_copies",
            "this price has none of what it copies (per_gb_month, per_million_writes, "
            "per_read_per_s_month, per_write_per_s_month)",
        ),
    ],
)
def test_a_wrong_index_copies_is_located_and_explained(
    write: Write, old: str, new: str, located: str, message: str
) -> None:
    assert old in INDEXED
    problems = _problems(write("base.toml", INDEXED.replace(old, new, 1)))
    assert any(located in p and message in p for p in problems), problems


def test_an_extending_catalog_changes_or_drops_the_factor(write: Write) -> None:
    write("base.toml", INDEXED)
    changed = write(
        "changed.toml",
        """\
        schema_version = 2
        name = "changed"
        extends = "base.toml"

        [backends.dynamodb.price]
        index_copies.factor = 0.5
        index_copies.note = "indexes projecting half the attributes"
        """,
    )
    copies = load_catalog(changed).backend("dynamodb").price.index_copies
    assert copies is not None
    assert (copies.factor, copies.source) == (0.5, "https://x.example/gsi")
    dropped = write(
        "dropped.toml",
        """\
        schema_version = 2
        name = "dropped"
        extends = "base.toml"

        [backends.dynamodb]
        remove = ["price.index_copies"]
        """,
    )
    assert load_catalog(dropped).backend("dynamodb").price.index_copies is None
