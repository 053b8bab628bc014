"""The plan says when it spans regions, and ``skaal cost`` bills the transfer with its source."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli

APP = (
    "from skaal import App, Map\n"
    'app = App("split")\n'
    '@app.storage(residency="eu", reads="10/s", writes="2/s")\n'
    "class Carts(Map[str, int]): ...\n"
    '@app.function(residency="us")\n'
    "async def count(key: str) -> int | None:\n"
    "    return await Carts.get(key)\n"
)


def test_the_plan_and_the_bill_show_the_inter_region_transfer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(APP)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    planned = runner.invoke(cli, ["plan", "app.py:app", "--target", "aws"])
    assert planned.exit_code == 0, planned.output
    said = " ".join(planned.stdout.split())
    assert "this plan spans 2 regions (eu-west-1, us-east-1)" in said
    assert "exchange 126 GB/month with data in another region ($2.52/month" in said
    assert "skaal build creates each resource in its region" in said
    as_json = runner.invoke(cli, ["plan", "app.py:app", "--target", "aws", "--json"])
    assert as_json.exit_code == 0, as_json.output
    count = next(
        b for b in json.loads(as_json.stdout)["plan"]["bindings"] if b["resource"] == "count"
    )
    assert count["transfers"] == [{"gb_month": 126.144, "region": "eu-west-1", "resource": "Carts"}]
    bill = runner.invoke(cli, ["cost", "app.py:app"])
    assert bill.exit_code == 0, bill.output
    row = next(line for line in bill.stdout.splitlines() if "inter-region transfer" in line)
    assert "126.144 GB" in row
    assert "$0.02" in row
    assert "$2.52" in row
    assert "https://aws.amazon.com/ec2/pricing/on-demand/ (read 2026-12-04)" in bill.stdout
