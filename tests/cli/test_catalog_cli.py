"""``skaal catalog`` end to end through the real command tree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from skaal.cli.main import cli

CATALOG = """\
schema_version = 1
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

[backends.redis.shared]
size_gb = 0.5
max_instances = 3

[backends.redis.price]
region = "us-east-1"
fixed_monthly = { amount = 12.41, source = "https://example.com/redis", as_of = "2026-11-22" }

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
    assert rows["gcp"]["file"].endswith("gcp.toml")


def test_show_prints_guarantees_and_priced_units(project: Path) -> None:
    result = run("show", "demo.toml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "demo (aws, prices in us-east-1, 2 backends)" in out
    assert "1.5 ms" in out
    assert "12.41 USD per month" in out
    assert "0.25 USD per GB-month stored" in out
    assert "yes (max 3)" in out


def test_show_filters_by_kind_and_dumps_json(project: Path) -> None:
    result = run("show", "demo.toml", "--kind", "collection")
    assert result.exit_code == 0
    assert "docs" in result.output
    assert "redis" not in result.output
    data = json.loads(run("show", "demo.toml", "--kind", "queue", "--json").output)
    assert [b["name"] for b in data["backends"]] == ["redis"]
    assert data["backends"][0]["price"]["fixed_monthly"]["amount"] == 12.41


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
        'schema_version = 1\nname = "child"\nextends = "demo.toml"\n'
        '[backends.docs]\nimplementation = "mongo"\n',
        encoding="utf-8",
    )
    result = run("validate", "child.toml")
    assert result.exit_code == 0, result.output
    assert "ok: child (aws): 2 backends; files: child.toml <- demo.toml" in result.output
    assert "warning: child.toml:5 [backends.docs] implementation" in result.output
    data = json.loads(run("validate", "child.toml", "--json").output)
    assert data["ok"] is True
    assert data["sources"] == ["demo.toml", "child.toml"]
    assert len(data["warnings"]) == 1


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
        "size_gb: 0.5 GB",
        "max_instances: 3",
        "Price (USD, region us-east-1)",
        "fixed_monthly",
        "USD per month",
        "https://example.com/redis",
        "2026-11-22",
        "demo.toml",
    ):
        assert expected in out, expected
    docs = run("explain", "demo.toml", "docs").output
    assert "max_size_gb: 400 GB" in docs


def test_explain_json_and_origins(project: Path) -> None:
    (project / "child.toml").write_text(
        'schema_version = 1\nname = "child"\nextends = "demo.toml"\n'
        "[backends.redis.price]\nfixed_monthly.amount = 15.0\n",
        encoding="utf-8",
    )
    data = json.loads(run("explain", "child.toml", "redis", "--json").output)
    assert data["backend"]["price"]["fixed_monthly"]["amount"] == 15.0
    assert data["price_units"] == {"fixed_monthly": "USD per month"}
    assert data["defined_in"] == ["demo.toml", "child.toml"]
    assert data["origins"]["price.fixed_monthly.amount"] == "child.toml"
    assert data["origins"]["price.fixed_monthly.source"] == "demo.toml"


def test_explain_unknown_backend_suggests_one(project: Path) -> None:
    result = run("explain", "demo.toml", "rediss")
    assert result.exit_code == 2
    assert "has no backend 'rediss' (did you mean 'redis'?)" in result.output
    assert "Traceback" not in result.output


def test_unknown_catalog_name_exits_2() -> None:
    result = run("show", "awss")
    assert result.exit_code == 2
    assert "did you mean 'aws'" in result.output
