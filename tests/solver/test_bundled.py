"""`python -m solver.bundled`: re-plans reading the lock, several seeds, audited plans."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from solver import bundled
from solver.bundled import _table, main, measure, measure_replan


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


def test_audited_rows_of_several_seeds_name_their_seed_and_say_all_are_valid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--catalogs", "aws", "--draws", "users", "--sizes", "30", "--seeds", "1,2", "--audit"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "every plan of the 2 audited by the oracle is valid"
    assert [line.split()[:4] for line in out[-3:-1]] == [
        ["aws", "users", "30", "1"],
        ["aws", "users", "30", "2"],
    ]


def test_a_plan_the_oracle_finds_wrong_is_flagged_below_the_table() -> None:
    row = {
        "catalog": "aws",
        "draw": "users",
        "n": 5000,
        "seed": 1,
        "import_s": 0.5,
        "plan_s": 1.0,
        "cpu_s": 1.0,
        "rss_mb": 200.0,
        "status": "optimal",
        "total": 9_969_807.39,
        "bound": None,
        "problems": ["C1009 is on server rds-postgres-multi-az but on no instance", "..."],
    }
    lines = _table([row]).splitlines()
    assert lines[-1] == (
        "aws users 5,000 (seed 1): INVALID, 2 problem(s), first: "
        "C1009 is on server rds-postgres-multi-az but on no instance"
    )


def test_the_cli_is_timed_first_compiling_the_app_then_reading_its_bytecode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as on the development machine
    row = measure("aws", "profiles", 12, folder=tmp_path, cli=True, repeat=2)
    assert row["status"] == "optimal"
    assert row["first_cli_s"] > 0
    assert row["cli_s"] > 0
    # the first run kept the app's bytecode, whatever the shell said: the others read it
    assert [p.name.split(".")[0] for p in (tmp_path / "__pycache__").glob("*.pyc")] == [
        "profiles12"
    ]


def test_a_failing_plan_command_stops_the_bench_instead_of_being_timed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash = [sys.executable, "-c", "import sys; sys.exit('no plan here')"]
    monkeypatch.setattr(bundled, "_skaal_command", lambda: crash)
    with pytest.raises(RuntimeError, match="skaal plan profiles12 exited 1, not 0: no plan here"):
        measure("aws", "profiles", 12, folder=tmp_path, cli=True)
