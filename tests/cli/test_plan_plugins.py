"""Planning commands run with pydantic's plugins off, unless the user says otherwise.

Scanning every installed distribution's entry points for pydantic plugins
costs a plan whose app builds pydantic models (a collection's documents),
and these commands validate none of the app's data (:mod:`skaal.cli.main`).  The variable is set
only when the user has not set it, and removed when the command ends; so is
the stand-in for pydantic's plugin loader, which spares the import of
``importlib.metadata`` while plugins are off.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal.cli import main
from skaal.cli.main import PLUGIN_FREE, cli
from tests.cli._console import probe_project, run_skaal

VARIABLE = "PYDANTIC_DISABLE_PLUGINS"

APP = """\
import os
from pathlib import Path

from pydantic import BaseModel

from skaal import App, Collection

Path("seen.txt").write_text(repr(os.environ.get("PYDANTIC_DISABLE_PLUGINS")))

app = App("pluginprobe")


class Note(BaseModel):
    id: str
    text: str


@app.storage(read_latency="< 100ms", durability="persistent")
class Notes(Collection[Note]): ...
"""

#: A pydantic plugin, installed as a distribution's entry point: loading it leaves a mark.
PLUGIN = """\
from pathlib import Path

Path("plugin-loaded.txt").write_text("yes")


class _Plugin:
    def new_schema_validator(self, *args, **kwargs):
        return None, None, None


plugin = _Plugin()
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return probe_project(tmp_path, monkeypatch, module="pluginprobe", source=APP, unset=VARIABLE)


def _plan(*args: str) -> None:
    result = CliRunner().invoke(cli, ["plan", "pluginprobe.py:app", "--no-write", *args])
    assert result.exit_code == 0, result.output


def test_plan_turns_plugins_off_while_it_runs_and_restores_the_environment(
    project: Path,
) -> None:
    _plan("--json")
    assert (project / "seen.txt").read_text(encoding="utf-8") == "'__all__'"
    assert VARIABLE not in os.environ


@pytest.mark.parametrize("chosen", ["", "logfire"])
def test_a_value_the_user_set_is_kept(
    project: Path, monkeypatch: pytest.MonkeyPatch, chosen: str
) -> None:
    monkeypatch.setenv(VARIABLE, chosen)
    _plan()
    assert (project / "seen.txt").read_text(encoding="utf-8") == repr(chosen)
    assert os.environ[VARIABLE] == chosen


def test_the_loader_stand_in_is_taken_away_when_the_command_ends(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, main._PLUGIN_LOADER, raising=False)
    _plan("--json")
    assert sys.modules.get(main._PLUGIN_LOADER) is not main._LOADER_STAND_IN


def test_the_loader_stand_in_asks_pydantics_own_once_the_variable_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, main._PLUGIN_LOADER, main._LOADER_STAND_IN)
    monkeypatch.setenv(VARIABLE, "__all__")
    assert tuple(main._LOADER_STAND_IN.get_plugins()) == ()
    assert sys.modules[main._PLUGIN_LOADER] is main._LOADER_STAND_IN
    monkeypatch.setenv(VARIABLE, "true")  # pydantic's own spelling of "none", not Skaal's
    assert tuple(main._LOADER_STAND_IN.get_plugins()) == ()
    assert sys.modules[main._PLUGIN_LOADER] is not main._LOADER_STAND_IN


def test_any_other_name_asked_of_the_stand_in_is_the_real_loaders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, main._PLUGIN_LOADER, main._LOADER_STAND_IN)
    monkeypatch.setenv(VARIABLE, "__all__")
    # what `from pydantic.plugin._loader import PYDANTIC_ENTRY_POINT_GROUP` would ask
    assert main._LOADER_STAND_IN.PYDANTIC_ENTRY_POINT_GROUP == "pydantic"
    assert sys.modules[main._PLUGIN_LOADER] is not main._LOADER_STAND_IN
    with pytest.raises(AttributeError):
        main._LOADER_STAND_IN.no_such_name  # noqa: B018


def test_commands_that_run_the_apps_code_keep_plugins() -> None:
    assert {"run", "deploy", "destroy", "migrate"}.isdisjoint(PLUGIN_FREE)
    assert "plan" in PLUGIN_FREE


def _installed_plugin(folder: Path) -> Path:
    site = folder / "site"
    info = site / "probe_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: probe-plugin\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[pydantic]\nprobe = probe_plugin:plugin\n", encoding="utf-8"
    )
    (site / "probe_plugin.py").write_text(PLUGIN, encoding="utf-8")
    return site


@pytest.mark.parametrize(("chosen", "loaded"), [(None, False), ("", True)])
def test_an_installed_plugin_is_loaded_only_when_the_user_asks(
    project: Path, chosen: str | None, loaded: bool
) -> None:
    site = _installed_plugin(project)
    env = {k: v for k, v in os.environ.items() if k != VARIABLE}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *sys.path])
    if chosen is not None:
        env[VARIABLE] = chosen
    done = run_skaal("plan", "pluginprobe.py:app", "--no-write", "--json", cwd=project, env=env)
    assert done.returncode == 0, done.stderr
    assert (project / "plugin-loaded.txt").is_file() is loaded
