"""``skaal plan`` runs with the cyclic garbage collector paused, and restores it.

Importing an app of thousands of declarations, its Blueprint, the plan and
its JSON are long-lived records that every full collection would rescan, so
the command pauses the collector for its whole run (:mod:`skaal.cli.plan`).
The app below records what the collector was doing while it was imported.
"""

from __future__ import annotations

import gc
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli.main import cli, main

APP = """\
import gc
from pathlib import Path

from skaal import App, Map

Path("collector.txt").write_text("on" if gc.isenabled() else "off")

app = App("gcprobe")


@app.storage(read_latency="< 100ms", durability="persistent")
class Notes(Map[str, str]): ...
"""


@pytest.mark.parametrize("args", [[], ["--no-write", "--json"]])
def test_plan_pauses_the_collector_and_restores_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    (tmp_path / "gcprobe.py").write_text(APP, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    result = CliRunner().invoke(cli, ["plan", "gcprobe.py:app", *args])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "collector.txt").read_text() == "off"
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_a_failing_plan_restores_the_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "broken.py:app"])
    assert result.exit_code == 2, result.output
    assert gc.isenabled()


@pytest.mark.parametrize(
    ("argv", "freezes"),
    [
        (["plan", "--help"], True),
        (["--debug", "cost", "--help"], True),
        (["run", "--help"], False),
        (["--version"], False),
    ],
)
def test_the_script_leaves_the_last_collection_nothing_to_scan(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], freezes: bool
) -> None:
    """The console script freezes what a planning command leaves, as the process exits."""
    assert gc.get_freeze_count() == 0
    monkeypatch.setattr("sys.argv", ["skaal", *argv])
    try:
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code in (0, None)
        assert (gc.get_freeze_count() > 0) is freezes
    finally:
        gc.unfreeze()
