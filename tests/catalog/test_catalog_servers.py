"""Schema 2: instance classes, quotas and capacity modes, loaded and validated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from catalog_samples import BASE, Write

from skaal.catalog import CatalogValidationError, InstanceClass, Mode, load_catalog
from skaal.catalog.model import Price, PriceItem, Server
from skaal.testing import backend, instance_class, mode


def _problems(path: Path) -> list[str]:
    with pytest.raises(CatalogValidationError) as info:
        load_catalog(path)
    assert info.value.exit_code == 2
    return [p.render() for p in info.value.problems]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_classes_load_in_file_order_with_their_figures(base: Path) -> None:
    redis = load_catalog(base).backend("redis")
    assert redis.server is not None
    assert (redis.server.quota, redis.server.quota_source) == (300, "https://example.com/quotas")
    assert redis.server.quota_adjustable is True
    assert redis.server.min_disk_gb == 0.0
    assert [c.name for c in redis.server.classes] == ["cache.small", "cache.large"]
    small = redis.server.instance_class("cache.small")
    assert (small.size_gb, small.reads_per_s, small.connections) == (0.5, 10000.0, 65000)
    assert small.price.amount == 12.41
    assert small.parameters == {"node_type": "cache.small"}
    assert redis.server.instance_class("cache.large").max_replicas == 2
    assert redis.price.items() == {}  # the fees are in the classes
    assert redis.modes == ()


def test_modes_load_in_file_order_and_the_first_is_the_price(base: Path) -> None:
    tables = load_catalog(base).backend("tables")
    assert [m.name for m in tables.modes] == ["on-demand", "provisioned"]
    on_demand, provisioned = tables.modes
    assert on_demand.description == "pay per request"
    assert on_demand.target_utilisation is None
    assert provisioned.target_utilisation == 0.7
    assert provisioned.price.items()["per_read_per_s_month"].amount == 0.0949
    assert tables.price == on_demand.price
    assert tables.priced_modes() == tables.modes
    assert tables.server is None


def test_a_backend_without_modes_is_priced_as_one_standard_mode(base: Path) -> None:
    dynamodb = load_catalog(base).backend("dynamodb")
    (only,) = dynamodb.priced_modes()
    assert (only.name, only.price) == ("standard", dynamodb.price)


LARGE = (
    '[backends.redis.server.classes."cache.large"]\n'
    'price = { amount = 99.0, source = "https://example.com/redis", as_of = "2026-12-03" }\n'
    "size_gb = 10.0\nmax_replicas = 2\n"
)
SMALL_PRICE = (
    'price = { amount = 12.41, source = "https://example.com/redis", as_of = "2026-11-22" }\n'
)


@pytest.mark.parametrize(
    ("old", "new", "located", "message", "fix"),
    [
        (
            '[backends.redis.server.classes."cache.small"]\ndescription = "small node"\n'
            + SMALL_PRICE
            + "size_gb = 0.5\nreads_per_s = 10000.0\nconnections = 65000\n"
            'parameters = { node_type = "cache.small" }\n\n' + LARGE,
            "",
            "[backends.redis.server] classes",
            "a server backend needs at least one instance class",
            "add a [backends.redis.server.classes.NAME] table with the class's price and "
            "capacity (size_gb, reads_per_s, writes_per_s, connections)",
        ),
        (
            '[backends.redis.price]\nregion = "us-east-1"\n',
            '[backends.redis.price]\nregion = "us-east-1"\nfixed_monthly = { amount = 1.0, '
            'source = "https://x", as_of = "2026-12-03" }\n',
            "[backends.redis.price] fixed_monthly",
            "a server backend's instance fee belongs to its instance classes, not to "
            "price.fixed_monthly",
            "move the fee into each [backends.redis.server.classes.NAME] as price = "
            '{ amount = ..., source = "https://...", as_of = "YYYY-MM-DD" } and delete '
            "fixed_monthly",
        ),
        (
            "min_disk_gb = 0.0",
            "min_disk_gb = 20.0",
            '[backends.redis.server.classes."cache.large"] max_replicas',
            "read replicas are offered only on a memory store (min_disk_gb = 0); this server "
            "has min_disk_gb = 20, and a replica's volume is not priced",
            "delete max_replicas, or model the replicated database as its own backend",
        ),
        (
            'consistency = ["eventual"]  # its reads spread over read replicas',
            'consistency = ["eventual", "strong"]',
            '[backends.redis.server.classes."cache.large"] max_replicas',
            "read replicas serve reads (the runtime spreads them over the primary and the "
            "replicas), which are then eventually consistent; this backend's consistency "
            "lists eventual, strong",
            "delete max_replicas, or offer the replicas as a backend of their own with "
            'performance.consistency = ["eventual"] (see elasticache-redis-replicas in '
            "catalogs/aws.toml)",
        ),
        (
            "size_gb = 10.0\nmax_replicas = 2\n",
            "size_gb = 10.0\nmax_replicas = 2\nmin_replicas = 3\n",
            '[backends.redis.server.classes."cache.large"] min_replicas',
            "min_replicas = 3 is more than max_replicas = 2",
            "set max_replicas to at least 3, or lower min_replicas",
        ),
        (
            "target_utilisation = 0.7\n",
            "",
            "[backends.tables.modes.provisioned.price] per_read_per_s_month",
            "per_read_per_s_month prices provisioned capacity, which needs a target_utilisation "
            "(provisioned = rate / target_utilisation)",
            "add target_utilisation (e.g. 0.7) to [backends.tables.modes.provisioned]",
        ),
        (
            'price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", '
            'as_of = "2026-11-22" }',
            'price.per_write_per_s_month = { amount = 0.47, source = "https://example.com/ddb", '
            'as_of = "2026-12-03" }',
            "[backends.dynamodb.price] per_write_per_s_month",
            "per_write_per_s_month prices provisioned capacity, which needs a target_utilisation "
            "(provisioned = rate / target_utilisation)",
            "move this price into a capacity mode with target_utilisation, e.g. "
            "[backends.dynamodb.modes.provisioned] with target_utilisation = 0.7",
        ),
        (
            "size_gb = 10.0",
            "size_gb = inf",
            '[backends.redis.server.classes."cache.large"] size_gb',
            "size_gb = inf: every number in a catalog must be finite",
            'write a finite number for size_gb in [backends.redis.server.classes."cache.large"] '
            "(inf and nan are not accepted)",
        ),
        (
            "amount = 99.0",
            "amount = nan",
            '[backends.redis.server.classes."cache.large".price] amount',
            "amount = nan: every number in a catalog must be finite",
            "write a finite number for amount in "
            '[backends.redis.server.classes."cache.large".price] (inf and nan are not accepted)',
        ),
        (
            "target_utilisation = 0.7",
            "target_utilisation = -inf",
            "[backends.tables.modes.provisioned] target_utilisation",
            "target_utilisation = -inf: every number in a catalog must be finite",
            "write a finite number for target_utilisation in [backends.tables.modes.provisioned] "
            "(inf and nan are not accepted)",
        ),
        (
            "quota = 300",
            "quota = inf",
            "[backends.redis.server] quota",
            "quota = inf: every number in a catalog must be finite",
            "write a finite number for quota in [backends.redis.server] "
            "(inf and nan are not accepted)",
        ),
        (
            "quota = 300",
            "quota = 300.0",
            "[backends.redis.server] quota",
            "quota must be an integer, not number 300.0",
            "write quota as an integer, e.g. 40",
        ),
        (
            "quota = 300",
            "quota = 0",
            "[backends.redis.server] quota",
            "quota = 0: input should be greater than or equal to 1",
            "change quota in [backends.redis.server] so that it is valid",
        ),
        (
            'quota = 300\nquota_source = "https://example.com/quotas"\n',
            "",
            "[backends.redis.server] quota",
            "missing required key quota",
            "add quota = 40 to [backends.redis.server]",
        ),
        (
            "target_utilisation = 0.7",
            "target_utilisation = 1.5",
            "[backends.tables.modes.provisioned] target_utilisation",
            "target_utilisation = 1.5: input should be less than or equal to 1",
            "change target_utilisation in [backends.tables.modes.provisioned] so that it is valid",
        ),
        (
            'price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", '
            'as_of = "2026-11-22" }',
            'price.per_instance_month = { amount = 0.4, source = "https://example.com/ddb", '
            'as_of = "2026-12-04" }',
            "[backends.dynamodb.price] per_instance_month",
            "per_instance_month is paid per server instance, and this backend has none",
            "delete it, or price the resource itself with fixed_monthly",
        ),
        (
            '[backends.redis.price]\nregion = "us-east-1"\n',
            '[backends.redis.price]\nregion = "us-east-1"\nbackup_per_gb_month = { amount = 0.2, '
            'source = "https://x", as_of = "2026-12-04" }\n',
            "[backends.redis.price] backup_per_gb_month",
            "the builds back up no 'redis' resource, so backup_per_gb_month would never be charged",
            "delete it (implementations backed up: dynamodb, firestore, postgres)",
        ),
        (
            'price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", '
            'as_of = "2026-11-22" }',
            'price.log_ingestion_per_gb = { amount = 0.5, source = "https://example.com/logs", '
            'as_of = "2026-12-04" }',
            "[backends.dynamodb.price] log_ingestion_per_gb",
            "log_ingestion_per_gb prices what the build creates around a function, and this "
            "backend serves none",
            'delete it, or add "function" to kinds',
        ),
        (
            'price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", '
            'as_of = "2026-11-22" }',
            'price.message_storage_per_gb_month = { amount = 0.27, source = "https://x", '
            'as_of = "2026-12-04" }',
            "[backends.dynamodb.price] message_storage_per_gb_month",
            "message_storage_per_gb_month prices the messages a topic retains, and this backend "
            "serves no queue or topic",
            'delete it, or add "queue" or "topic" to kinds',
        ),
        (
            "min_disk_gb = 0.0",
            "min_disk_gb = -1.0",
            "[backends.redis.server] min_disk_gb",
            "min_disk_gb = -1.0: input should be greater than or equal to 0",
            "change min_disk_gb in [backends.redis.server] so that it is valid",
        ),
        (
            SMALL_PRICE,
            "",
            '[backends.redis.server.classes."cache.small"] price',
            "missing required key price",
            'add price = { amount = 11.68, source = "https://provider.example/pricing", '
            'as_of = "2026-12-03" } to [backends.redis.server.classes."cache.small"]',
        ),
        (
            "size_gb = 10.0",
            "size_gbb = 10.0",
            '[backends.redis.server.classes."cache.large"] size_gbb',
            "unknown key size_gbb (did you mean 'size_gb'?)",
            'rename or delete it; [backends.redis.server.classes."cache.large"] accepts: '
            "connections, description, max_replicas, min_replicas, parameters, price, quota_units, "
            "reads_per_s, resources, size_gb, writes_per_s",
        ),
        (
            "target_utilisation = 0.7",
            "target_utilisation = 0.7\ndescripton = 'x'",
            "[backends.tables.modes.provisioned] descripton",
            "unknown key descripton (did you mean 'description'?)",
            "rename or delete it; [backends.tables.modes.provisioned] accepts: description, "
            "price, quota_read_units, quota_source, quota_write_units, target_utilisation",
        ),
        (
            'parameters = { node_type = "cache.small" }',
            "parameters = { node_type = true }",
            '[backends.redis.server.classes."cache.small".parameters] node_type',
            "parameter node_type must be a string or a number, not boolean True",
            'write node_type in [backends.redis.server.classes."cache.small".parameters] as a '
            "quoted string or a number",
        ),
        (
            'parameters = { node_type = "cache.small" }',
            "parameters = { node_type = nan }",
            '[backends.redis.server.classes."cache.small".parameters] node_type',
            "node_type = nan: every number in a catalog must be finite",
            "write a finite number or a quoted string for node_type in "
            '[backends.redis.server.classes."cache.small".parameters]',
        ),
        (
            "[backends.redis.server]\nquota = 300\n",
            "[backends.redis.shared]\nsize_gb = 1.0\n\n[backends.redis.server]\nquota = 300\n",
            "[backends.redis] shared",
            "unknown key shared: schema 2 describes a server backend by [server] with instance "
            "classes",
            "write [backends.redis.server] with quota and one classes.NAME table per instance "
            "size (see docs/catalogs.md), or set schema_version = 1",
        ),
        (
            "[backends.tables.modes.on-demand]",
            '[backends.tables.price]\nregion = "us-east-1"\n\n[backends.tables.modes.on-demand]',
            "[backends.tables] price",
            "a backend with capacity modes takes its price from its modes",
            "delete this price (its first mode's price is the default); an extending catalog "
            'writes remove = ["price"]',
        ),
        (
            "[backends.redis.price]",
            '[backends.redis.modes.x]\nprice.region = "us-east-1"\n\n[backends.redis.price]',
            "[backends.redis] modes",
            "a server backend has no capacity modes: its instances are the capacity",
            "delete [backends.redis.modes], or the [backends.redis.server] table",
        ),
    ],
)
def test_each_server_and_mode_problem_is_located_and_explained(  # noqa: PLR0917
    write: Write, old: str, new: str, located: str, message: str, fix: str
) -> None:
    assert old in BASE, old
    text = BASE.replace(old, new, 1)
    problems = _problems(write("cat.toml", text))
    assert len(problems) == 1, problems
    (problem,) = problems
    where, _, rest = problem.partition(": ")
    assert where.endswith(f" {located}"), problem
    assert re.match(r"(.*/)?cat\.toml:\d+ \[", where), problem
    assert rest == f"{message}\n  fix: {fix}"


def test_a_problem_in_a_class_points_at_its_line(write: Write) -> None:
    text = BASE.replace("size_gb = 10.0", "size_gb = -10.0")
    (problem,) = _problems(write("cat.toml", text))
    line = _line(text, "size_gb = -10.0")
    assert f'cat.toml:{line} [backends.redis.server.classes."cache.large"] size_gb: ' in problem


def test_classes_must_be_a_table_keyed_by_name(write: Write) -> None:
    text = (
        BASE.split("[backends.redis.server.classes")[0]
        + '[[backends.redis.server.classes]]\nprice = { amount = 1.0, source = "https://x", '
        'as_of = "2026-12-03" }\n\n[backends.redis.price]\nregion = "us-east-1"\n'
        + BASE.split('[backends.redis.price]\nregion = "us-east-1"\n')[1]
    )
    (problem,) = _problems(write("cat.toml", text))
    assert "[backends.redis.server] classes: classes must be a table keyed by class name" in (
        problem
    )


def test_every_problem_is_reported_at_once(write: Write) -> None:
    text = (
        BASE.replace("size_gb = 10.0", "size_gb = inf")
        .replace("min_disk_gb = 0.0", "min_disk_gb = 20.0")
        .replace("target_utilisation = 0.7\n", "")
    )
    problems = _problems(write("cat.toml", text))
    assert len(problems) == 3, problems
    text = "\n".join(problems)
    assert "every number in a catalog must be finite" in text
    assert "read replicas are offered only on a memory store" in text
    assert "needs a target_utilisation" in text
    assert "Traceback" not in text
    assert "pydantic" not in text


def _item(amount: float) -> PriceItem:
    return PriceItem(amount=amount, source="https://x", as_of="2026-12-03")


def test_class_names_must_be_unique() -> None:
    one = InstanceClass(name="a", price=_item(1.0))
    with pytest.raises(ValueError, match="instance class names must be unique; repeated: a"):
        Server(classes=(one, one), quota=1)


def test_mode_names_must_be_unique() -> None:
    price = Price(region="us-east-1", per_million_reads=_item(1.0))
    twice = (Mode(name="m", price=price), Mode(name="m", price=price))
    with pytest.raises(ValueError, match="capacity mode names must be unique; repeated: m"):
        backend("kv", modes=twice)


def test_the_testing_helper_builds_classes_and_modes() -> None:
    redis = backend(
        "redis",
        classes=[instance_class("small", price=12.0, size_gb=0.5), instance_class("big", price=90)],
        quota=300,
        min_disk_gb=0.0,
    )
    assert redis.server is not None
    assert [c.name for c in redis.server.classes] == ["small", "big"]
    assert redis.server.quota == 300
    table = backend(
        "tables",
        modes=[
            mode("on-demand", per_million_reads=0.125),
            mode("provisioned", target_utilisation=0.7, per_read_per_s_month=0.0949),
        ],
    )
    assert table.price == table.modes[0].price
    with pytest.raises(ValueError, match="fee belongs to its classes"):
        backend("bad", classes=[instance_class("a", price=1.0)], fixed_monthly=1.0)
    with pytest.raises(ValueError, match="give classes= or shared=, not both"):
        backend("bad", classes=[instance_class("a", price=1.0)], shared={"size_gb": 1.0})
    with pytest.raises(ValueError, match="with modes, give the prices in the modes"):
        backend("bad", modes=[mode("m", per_gb_month=1.0)], per_gb_month=1.0)


def test_the_testing_helper_reads_shared_as_one_standard_class() -> None:
    redis = backend("redis", fixed_monthly=12.5, shared={"size_gb": 5.0, "max_instances": 3})
    assert redis.server is not None
    (standard,) = redis.server.classes
    assert (standard.name, standard.price.amount, standard.size_gb) == ("standard", 12.5, 5.0)
    assert redis.server.quota == 3
    assert redis.price.fixed_monthly is None
    free = backend("redis", shared={"resources": 2})
    assert free.server is not None
    assert free.server.classes[0].price.amount == 0.0
    assert free.server.quota == 1


def test_a_bad_only_class_is_one_problem(write: Write) -> None:
    text = BASE.replace(LARGE, "").replace("size_gb = 0.5", "size_gb = 0.0")
    (problem,) = _problems(write("cat.toml", text))
    assert '[backends.redis.server.classes."cache.small"] size_gb: size_gb = 0.0' in problem


def test_empty_modes_is_one_problem(write: Write) -> None:
    head, _, rest = BASE.partition("[backends.tables.modes.on-demand]")
    text = head + "modes = {}\n\n[backends.dynamodb]" + rest.partition("[backends.dynamodb]")[2]
    (problem,) = _problems(write("cat.toml", text))
    assert "[backends.tables] modes: modes is empty" in problem
