"""The drawn apps of :mod:`solver.draws`, in one module or spread over several."""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.blueprint.model import Blueprint
from skaal.declare.app_ref import load_app
from solver.draws import write_app


def _blueprint(folder: Path, stem: str, draw: str, n: int, modules: int) -> Blueprint:
    folder.mkdir()
    write_app(folder / f"{stem}.py", draw, n, modules=modules)
    return load_app(f"{stem}.py:app", cwd=folder).blueprint()


def _declared(blueprint: Blueprint) -> dict[str, object]:
    return {spec.name: (spec.kind, spec.requirements) for spec in blueprint.resources}


def test_the_profiles_draw_in_several_modules_declares_the_same_resources(
    tmp_path: Path,
) -> None:
    one = _blueprint(tmp_path / "one", "drawone", "profiles", 60, 1)
    split = _blueprint(tmp_path / "split", "drawsplit", "profiles", 60, 7)
    assert len(list((tmp_path / "split").glob("drawsplit_part*.py"))) == 7
    assert _declared(split) == _declared(one)
    files = {Path(spec.location.file).name for spec in split.resources}
    assert files == {f"drawsplit_part{i:03d}.py" for i in range(7)}


def test_the_users_draw_in_several_modules_collocates_within_a_module(tmp_path: Path) -> None:
    split = _blueprint(tmp_path / "split", "drawusers", "users", 1000, 4)
    assert len(split.resources) == 1000
    assert split.budget_usd_month == 5000 * 1000
    module = {spec.name: spec.location.file for spec in split.resources}
    pairs = [
        (spec.name, spec.requirements.collocate_with)
        for spec in split.resources
        if spec.requirements.collocate_with
    ]
    assert pairs  # the draw of 1,000 has co-locations
    assert all(module[name] == module[peer] for name, peer in pairs)


def test_modules_below_one_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        write_app(tmp_path / "app.py", "profiles", 10, modules=0)
