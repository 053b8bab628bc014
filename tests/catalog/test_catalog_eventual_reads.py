"""``eventual_reads``: what an eventually consistent read costs, validated and layered."""

from __future__ import annotations

from pathlib import Path

import pytest
from catalog_samples import BASE, Write

from skaal.catalog import CatalogValidationError, load_catalog
from skaal.catalog.model import Catalog

FACTOR = 'eventual_reads = { factor = 0.5, source = "https://x.example/ddb", as_of = "2026-12" }'
READ_UNIT = '{ amount = 0.0949, source = "https://x.example", as_of = "2026-12" }'
PERFORMANCE = 'performance = { durability = "durable", availability = 99.99, read_latency_ms = 10.0'
#: BASE with DynamoDB-like tables: both modes price eventual reads at half a unit.
EVENTUAL = (
    BASE.replace(
        f"{PERFORMANCE} }}\n\n[backends.tables.modes.on-demand]",
        f'{PERFORMANCE}, consistency = ["eventual", "strong"] }}\n\n'
        "[backends.tables.modes.on-demand]",
    )
    .replace(
        'as_of = "2026-11" }\n\n[backends.tables.modes.provisioned]',
        f'as_of = "2026-11" }}\nprice.{FACTOR}\n\n[backends.tables.modes.provisioned]',
    )
    .replace(
        f"price.per_read_per_s_month = {READ_UNIT}\n",
        f"price.per_read_per_s_month = {READ_UNIT}\nprice.{FACTOR}\n",
    )
)


def _problems(path: Path) -> list[str]:
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(path)
    return [p.render() for p in info.value.problems]


def _factors(catalog: Catalog, backend: str) -> dict[str, float | None]:
    return {
        m.name: None if m.price.eventual_reads is None else m.price.eventual_reads.factor
        for m in catalog.backend(backend).modes
    }


def test_dynamodb_prices_an_eventual_read_at_half_a_unit_in_both_modes() -> None:
    aws = load_catalog("aws")
    dynamodb = aws.backend("dynamodb")
    assert dynamodb.performance.consistency == ("eventual", "strong")
    assert _factors(aws, "dynamodb") == {"on-demand": 0.5, "provisioned": 0.5}
    for mode in dynamodb.modes:
        factor = mode.price.eventual_reads
        assert factor is not None
        assert factor.source == f"https://aws.amazon.com/dynamodb/pricing/{mode.name}/"
        assert factor.as_of == "2026-12-04"
        assert "eventually consistent" in factor.note


@pytest.mark.parametrize("name", ["aws", "gcp", "local", "local-servers"])
def test_only_a_backend_whose_reads_choose_has_an_eventual_price(name: str) -> None:
    # Firestore, S3, GCS, Redis and PostgreSQL read every value strongly
    # consistent, at one price: they list only "strong" and no factor.  A Redis
    # server reading from its replicas is eventual only, at the same price.
    catalog = load_catalog(name)
    for backend in catalog.backends:
        priced = [m.price for m in backend.priced_modes() if m.price.eventual_reads is not None]
        if backend.name == "dynamodb":
            assert len(priced) == 2
            continue
        assert priced == [], backend.name
        if {"map", "collection"} & set(backend.kinds):
            replicas = backend.server is not None and any(
                c.max_replicas for c in backend.server.classes
            )
            levels = ("eventual",) if replicas else ("strong",)
            assert backend.performance.consistency == levels, backend.name


def test_a_catalog_with_eventual_reads_loads(write: Write) -> None:
    catalog = load_catalog(write("base.toml", EVENTUAL))
    assert _factors(catalog, "tables") == {"on-demand": 0.5, "provisioned": 0.5}
    assert catalog.backend("tables").price.eventual_reads is not None  # the first mode's


@pytest.mark.parametrize(
    ("old", "new", "located", "message"),
    [
        (
            f"price.{FACTOR}\n\n[backends.tables.modes.provisioned]",
            "price.eventual_reads = 0.5\n\n[backends.tables.modes.provisioned]",
            "[backends.tables.modes.on-demand.price] eventual_reads",
            "eventual_reads = { factor = 0.5, source =",
        ),
        (
            '{ factor = 0.5, source = "https://x.example/ddb", as_of = "2026-12" }\n\n',
            '{ facter = 0.5, source = "https://x.example/ddb", as_of = "2026-12" }\n\n',
            "[backends.tables.modes.on-demand.price.eventual_reads] facter",
            "unknown key facter (did you mean 'factor'?)",
        ),
        (
            '{ factor = 0.5, source = "https://x.example/ddb", as_of = "2026-12" }\n\n',
            '{ factor = 1.5, source = "https://x.example/ddb", as_of = "2026-12" }\n\n',
            "[backends.tables.modes.on-demand.price.eventual_reads] factor",
            "less than or equal to 1",
        ),
        (
            '{ factor = 0.5, source = "https://x.example/ddb", as_of = "2026-12" }\n\n',
            '{ factor = 0.5, as_of = "2026-12" }\n\n',
            "[backends.tables.modes.on-demand.price.eventual_reads] source",
            "missing required key source",
        ),
        (
            'consistency = ["eventual", "strong"] }',
            'consistency = ["strong"] }',
            "[backends.tables.modes.on-demand.price] eventual_reads",
            "does not offer 'eventual'",
        ),
        (
            'price.per_million_reads = { amount = 0.125, source = "https://x.example/ddb", '
            'as_of = "2026-11" }\n',
            'price.per_million_writes = { amount = 0.6, source = "https://x.example/ddb", '
            'as_of = "2026-11" }\n',
            "[backends.tables.modes.on-demand.price] eventual_reads",
            "this price has no read component (per_million_reads or per_read_per_s_month)",
        ),
    ],
)
def test_a_wrong_eventual_reads_is_located_and_explained(
    write: Write, old: str, new: str, located: str, message: str
) -> None:
    assert old in EVENTUAL
    problems = _problems(write("base.toml", EVENTUAL.replace(old, new, 1)))
    assert any(located in p and message in p for p in problems), problems


def test_an_extending_catalog_changes_or_drops_the_factor(write: Write) -> None:
    write("base.toml", EVENTUAL)
    child = write(
        "child.toml",
        """\
        schema_version = 2
        name = "child"
        extends = "base.toml"

        [backends.tables]
        remove = ["modes.provisioned.price.eventual_reads"]

        [backends.tables.modes.on-demand.price]
        eventual_reads.factor = 0.25
        eventual_reads.note = "a negotiated rate"
        """,
    )
    catalog = load_catalog(child)
    assert _factors(catalog, "tables") == {"on-demand": 0.25, "provisioned": None}
    on_demand = catalog.backend("tables").modes[0].price.eventual_reads
    assert on_demand is not None
    assert (on_demand.source, on_demand.note) == ("https://x.example/ddb", "a negotiated rate")
