"""``skaal catalog`` end to end through the real command tree."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.cli.main import cli

CATALOG = """\
schema_version = 2
name = "demo"
provider = "aws"
region = "us-east-1"

[backends.redis]
description = "Redis node"
kinds = ["map", "queue"]
implementation = "redis"
regions = ["us-east-1"]
capabilities = ["ttl"]
requires = ["vpc"]

[backends.redis.performance]
read_latency_ms = 1.5
write_latency_ms = 2.0
durability = "persistent"
availability = 99.9

[backends.redis.server]
quota = 3
quota_source = "https://example.com/quotas"

[backends.redis.server.classes."cache.small"]
description = "the small node"
price = { amount = 12.41, source = "https://example.com/redis", as_of = "2026-11-22" }
size_gb = 0.5
reads_per_s = 10000.0
connections = 65000

[backends.redis.server.classes."cache.large"]
price = { amount = 99.0, source = "https://example.com/redis", as_of = "2026-12-03" }
size_gb = 10.0
max_replicas = 2

[backends.redis.price]
region = "us-east-1"

[backends.tables]
description = "Tables with capacity modes"
kinds = ["map"]
implementation = "dynamodb"
regions = ["us-east-1"]
performance = { durability = "durable", availability = 99.99, read_latency_ms = 9.0 }

[backends.tables.modes.on-demand]
price.region = "us-east-1"
price.per_million_reads = { amount = 0.125, source = "https://example.com/ddb", as_of = "2026-11" }

[backends.tables.modes.provisioned]
description = "auto scaling at 70%"
target_utilisation = 0.7
price.region = "us-east-1"
price.per_read_per_s_month = { amount = 0.0949, source = "https://x.example", as_of = "2026-12" }

[backends.docs]
description = "Document store"
kinds = ["collection"]
implementation = "dynamodb"
regions = ["us-east-1"]
performance = { durability = "durable", availability = 99.99, read_latency_ms = 9.0 }
limits = { max_size_gb = 400.0 }
price.region = "us-east-1"
price.per_gb_month = { amount = 0.25, source = "https://example.com/ddb", as_of = "2026-11" }
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "demo.toml").write_text(CATALOG, encoding="utf-8")
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["catalog", *args])


def test_list_shows_the_bundled_catalogs() -> None:
    result = run("list")
    assert result.exit_code == 0, result.output
    for name in ("local", "aws", "gcp"):
        assert f" {name} " in result.output
    rows = {row["name"]: row for row in json.loads(run("list", "--json").output)}
    assert rows["aws"]["provider"] == "aws"
    assert rows["aws"]["backends"] > 0
    assert rows["aws"]["classes"] >= 20
    assert rows["aws"]["modes"] == 2
    assert rows["local"]["classes"] == 0
    assert rows["gcp"]["file"].endswith("gcp.toml")


def test_show_prints_guarantees_and_priced_units(project: Path) -> None:
    result = run("show", "demo.toml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "demo (aws, prices in us-east-1, 3 backends)" in out
    assert "1.5 ms" in out
    assert "12.41-99 USD/instance-month" in out
    assert "0.25 USD per GB-month stored" in out
    assert "server: 2 classes, quota 3" in out
    assert "modes: on-demand, provisioned" in out
    assert "provisioned:" in out
    assert "0.0949 USD per read/s" in out


def test_show_filters_by_kind_and_dumps_json(project: Path) -> None:
    result = run("show", "demo.toml", "--kind", "collection")
    assert result.exit_code == 0
    assert "docs" in result.output
    assert "redis" not in result.output
    data = json.loads(run("show", "demo.toml", "--kind", "queue", "--json").output)
    assert [b["name"] for b in data["backends"]] == ["redis"]
    server = data["backends"][0]["server"]
    assert [c["name"] for c in server["classes"]] == ["cache.small", "cache.large"]
    assert server["classes"][0]["price"]["amount"] == 12.41
    assert server["quota"] == 3


def test_show_unknown_kind_is_a_usage_error(project: Path) -> None:
    result = run("show", "demo.toml", "--kind", "colection")
    assert result.exit_code == 2
    assert "did you mean 'collection'" in result.output


def test_show_bundled_catalog_by_name() -> None:
    result = run("show", "local", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output)["provider"] == "local"


def test_validate_ok_lists_chain_and_warnings(project: Path) -> None:
    (project / "child.toml").write_text(
        'schema_version = 2\nname = "child"\nextends = "demo.toml"\n'
        '[backends.docs]\nimplementation = "mongo"\n',
        encoding="utf-8",
    )
    result = run("validate", "child.toml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "ok: child (aws): 3 backends; files: child.toml <- demo.toml" in out
    assert "warning: child.toml:5 [backends.docs] implementation" in out
    assert re.search(r"redis \(quota 3\) .* cache\.small .* 0\.5 GB .* 12\.41 USD/month", out)
    assert re.search(r"cache\.large .* 10 GB .* 99 USD/month", out)
    assert re.search(r"tables .* on-demand .* 0\.125 USD per million reads", out)
    assert "provisioned (target 0.7)" in out
    data = json.loads(run("validate", "child.toml", "--json").output)
    assert data["ok"] is True
    assert data["sources"] == ["demo.toml", "child.toml"]
    assert len(data["warnings"]) == 1
    redis = data["servers"]["redis"]
    assert redis["quota"] == 3
    assert redis["quota_group"] is None
    assert redis["classes"][0] == {
        "name": "cache.small",
        "size_gb": 0.5,
        "reads_per_s": 10000.0,
        "writes_per_s": None,
        "connections": 65000,
        "resources": None,
        "max_replicas": 0,
        "min_replicas": 0,
        "quota_units": 1,
        "price": 12.41,
        "price_unit": "USD per instance per month",
    }
    assert data["modes"] == {"tables": ["on-demand", "provisioned"]}


def test_validate_invalid_catalog_exits_2_with_location(project: Path) -> None:
    bad = CATALOG.replace('durability = "persistent"', 'durability = "forever"')
    (project / "bad.toml").write_text(bad, encoding="utf-8")
    result = run("validate", "bad.toml")
    assert result.exit_code == 2
    line = bad.splitlines().index('durability = "forever"') + 1
    assert f"bad.toml:{line} [backends.redis.performance] durability:" in result.output
    assert "'forever' is not a valid durability" in result.output
    assert "fix: use one of: ephemeral, persistent, durable" in result.output
    assert "Traceback" not in result.output


def test_validate_json_reports_every_problem(project: Path) -> None:
    bad = CATALOG.replace("availability = 99.9\n", "availability = 120.0\nspeed = 1\n")
    (project / "bad.toml").write_text(bad, encoding="utf-8")
    result = run("validate", "bad.toml", "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["ok"] is False
    keys = {(p["table"], p["key"]) for p in data["problems"]}
    assert keys == {
        ("[backends.redis.performance]", "availability"),
        ("[backends.redis.performance]", "speed"),
    }
    assert all(p["file"] == "bad.toml" and p["line"] for p in data["problems"])


def test_validate_syntax_error_and_missing_file(project: Path) -> None:
    (project / "broken.toml").write_text('name = "x\n', encoding="utf-8")
    result = run("validate", "broken.toml")
    assert result.exit_code == 2
    assert "broken.toml:1: TOML syntax error" in result.output
    data = json.loads(run("validate", "broken.toml", "--json").stdout)
    assert data["problems"][0]["where"] == "broken.toml:1"
    missing = run("validate", "nope.toml")
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


def test_explain_shows_everything_about_a_backend(project: Path) -> None:
    result = run("explain", "demo.toml", "redis")
    assert result.exit_code == 0, result.output
    out = result.output
    for expected in (
        "redis in catalog demo (aws)",
        "read latency:  1.5 ms",
        "durability:    persistent",
        "Capabilities: ttl",
        "Network needs: vpc",
        "Server: instances shared by many resources; quota 3 instances (adjustable)",
        "quota source: https://example.com/quotas",
        "disk floor per instance (min_disk_gb): 0 GB",
        "Instance classes",
        "the small node",
        "12.41 USD/month",
        "https://example.com/redis",
        "(2026-11-22, demo.toml)",
        "Price (USD, region us-east-1)",
        "no per-use components (the instance classes carry the fees)",
    ):
        assert expected in out, expected
    assert re.search(r"cache\.small +│ 0\.5 GB +│ 10000 +│ - +│ 65000 +│ - +│ 0 ", out), out
    assert re.search(r"cache\.large +│ 10 GB +│ - +│ - +│ - +│ - +│ 2 ", out), out
    docs = run("explain", "demo.toml", "docs").output
    assert "max_size_gb: 400 GB" in docs
    assert "0.25" in docs
    tables = run("explain", "demo.toml", "tables").output
    assert "Mode on-demand" in tables
    assert "Mode provisioned: auto scaling at 70% (provisioned at rate / 0.7)" in tables
    assert "per_read_per_s_month" in tables
    assert "Price (USD" not in tables
    assert "quota:" not in tables  # the demo's provisioned mode states no regional quota
    dynamodb = run("explain", "aws", "dynamodb").output
    assert "quota: 80,000 read units and 80,000 write units per region" in dynamodb
    assert "Count quota tables: 2,500 per region (1 per collection, 1 per map; a provider " in (
        " ".join(dynamodb.split())
    )
    pubsub = " ".join(run("explain", "gcp", "pubsub").output.split())
    assert "Count quota topics: 10,000 in one account (or project), all regions (3 per " in pubsub
    assert "Count quota" not in docs  # a backend without count quotas shows none
    counts = json.loads(run("validate", "aws", "--json").output)["counts"]
    assert counts["dynamodb"]["tables"]["quota"] == 2500
    assert counts["s3"]["buckets"]["scope"] == "account"
    backend = json.loads(run("explain", "gcp", "pubsub", "--json").output)["backend"]
    assert [c["name"] for c in backend["counts"]] == ["topics", "subscriptions"]


def test_explain_json_and_origins(project: Path) -> None:
    (project / "child.toml").write_text(
        'schema_version = 2\nname = "child"\nextends = "demo.toml"\n'
        '[backends.redis.server.classes."cache.small"]\nprice.amount = 15.0\n',
        encoding="utf-8",
    )
    data = json.loads(run("explain", "child.toml", "redis", "--json").output)
    small = data["backend"]["server"]["classes"][0]
    assert (small["name"], small["price"]["amount"]) == ("cache.small", 15.0)
    assert data["price_units"] == {}
    assert data["defined_in"] == ["demo.toml", "child.toml"]
    assert data["origins"]['server.classes."cache.small".price.amount'] == "child.toml"
    assert data["origins"]['server.classes."cache.small".price.source'] == "demo.toml"
    text = run("explain", "child.toml", "redis").output
    assert "(2026-11-22, child.toml)" in text
    tables = json.loads(run("explain", "child.toml", "tables", "--json").output)
    assert tables["mode_price_units"]["provisioned"] == {
        "per_read_per_s_month": "USD per read/s of provisioned capacity per month"
    }


def test_explain_unknown_backend_suggests_one(project: Path) -> None:
    result = run("explain", "demo.toml", "rediss")
    assert result.exit_code == 2
    assert "has no backend 'rediss' (did you mean 'redis'?)" in result.output
    assert "Traceback" not in result.output


def test_unknown_catalog_name_exits_2() -> None:
    result = run("show", "awss")
    assert result.exit_code == 2
    assert "did you mean 'aws'" in result.output
