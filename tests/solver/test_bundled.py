"""``python -m solver.bundled --replan``: a first plan writes the lock, a re-plan reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from solver.bundled import main, measure_replan


def test_a_re_plan_row_times_both_processes_and_compares_the_locks(tmp_path: Path) -> None:
    row = measure_replan("aws", "profiles", 12, folder=tmp_path, modules=2)
    assert row["same_lock"] is True
    for stage in ("first", "replan"):
        assert row[f"{stage}_cpu_s"] > 0
        assert row[f"{stage}_wall_s"] > 0
        assert row[f"{stage}_rss_mb"] > 10
    assert (tmp_path / "profiles12_in2" / "skaal.lock").is_file()


def test_the_re_plan_table_names_its_columns(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--catalogs", "aws", "--draws", "profiles", "--sizes", "10", "--replan"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "re-plan cpu s" in out[-2]
    assert out[-1].split()[:3] == ["aws", "profiles", "10"]
    assert out[-1].split()[-1] == "yes"
