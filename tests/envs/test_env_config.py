"""Environments read from pyproject.toml: the records, the selection order, every mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal.envs.config import ENV_VARIABLE, Environment, load_project, select_env
from skaal.errors import UsageError
from skaal.plan.naming import ENV_VARIABLE as RUNTIME_VARIABLE

PYPROJECT = """\
[project]
name = "shop"

[tool.skaal]
app = "shop.app:app"
env = "dev"

[tool.skaal.envs.dev]

[tool.skaal.envs.staging]
catalog = "catalogs/staging.toml"
port = 8001
dotenv = ".env.stage"
config = { LOG_LEVEL = "debug", WORKERS = 2, VERBOSE = true }

[tool.skaal.envs.prod]
target = "aws"
"""


def project_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_environments_and_where_everything_lives(tmp_path: Path) -> None:
    project = load_project(project_with(tmp_path, PYPROJECT))
    assert sorted(project.envs) == ["dev", "prod", "staging"]
    assert project.default == "dev"
    staging = project.envs["staging"]
    assert staging.lock == "skaal.staging.lock"
    assert staging.artifacts == "artifacts/staging"
    assert staging.data_dir == ".skaal/envs/staging/data"
    assert staging.stack == "staging"
    assert staging.port == 8001
    assert staging.secrets_file == ".env.stage"
    assert staging.catalog_ref == "catalogs/staging.toml"
    assert dict(staging.config) == {"LOG_LEVEL": "debug", "VERBOSE": "true", "WORKERS": "2"}
    assert staging.where == f"{tmp_path / 'pyproject.toml'}:10"
    dev = project.envs["dev"]
    assert (dev.catalog_ref, dev.secrets_file, dev.port) == ("local", ".env.dev", None)
    assert project.envs["prod"].catalog_ref == "aws"


def test_found_from_a_subfolder(tmp_path: Path) -> None:
    project_with(tmp_path, PYPROJECT)
    (tmp_path / "src" / "deep").mkdir(parents=True)
    project = load_project(tmp_path / "src" / "deep")
    assert project.root == tmp_path.resolve()
    assert "staging" in project.envs


def test_flag_wins_over_skaal_env_which_wins_over_the_default(tmp_path: Path) -> None:
    project = load_project(project_with(tmp_path, PYPROJECT))
    pick = lambda flag, environ: select_env(project, flag, environ)  # noqa: E731
    assert _name(pick("prod", {"SKAAL_ENV": "staging"})) == "prod"
    assert _name(pick(None, {"SKAAL_ENV": "staging"})) == "staging"
    assert _name(pick(None, {})) == "dev"
    assert _name(pick(None, {"SKAAL_ENV": "  "})) == "dev"


def test_without_environments_nothing_is_selected(tmp_path: Path) -> None:
    project = load_project(project_with(tmp_path, '[tool.skaal]\napp = "app:app"\n'))
    assert project.envs == {}
    assert select_env(project, None, {}) is None
    with pytest.raises(UsageError, match="known: none"):
        select_env(project, "staging", {})


def test_an_unknown_environment_lists_the_known_ones(tmp_path: Path) -> None:
    project = load_project(project_with(tmp_path, PYPROJECT))
    with pytest.raises(UsageError) as info:
        select_env(project, "stagin", {})
    err = info.value
    assert err.exit_code == 2
    assert "unknown environment 'stagin' (did you mean 'staging'?)" in err.what
    assert "known: dev, prod, staging" in err.what
    assert err.where == "--env stagin"
    assert err.command == "skaal env list"
    with pytest.raises(UsageError, match="environment variable SKAAL_ENV=qa"):
        select_env(project, None, {"SKAAL_ENV": "qa"})


@pytest.mark.parametrize(
    ("table", "message", "line"),
    [
        (
            '[tool.skaal.envs.qa]\ncatalgo = "x"\n',
            "unknown key 'catalgo' (did you mean 'catalog'?)",
            3,
        ),
        ('[tool.skaal.envs.qa]\ntarget = "azure"\n', "target is 'azure', not a target", 3),
        ('[tool.skaal.envs.qa]\ntarget = "aws"\ncatalog = "a"\n', "sets both catalog and", 3),
        ("[tool.skaal.envs.qa]\nport = 70000\n", "port is 70000, not a port number", 3),
        ("[tool.skaal.envs.qa]\nport = true\n", "port is True, not a port number", 3),
        ('[tool.skaal.envs.qa]\ncatalog = ""\n', "catalog must be a non-empty string", 3),
        ("[tool.skaal.envs.qa]\nconfig = { A = [1] }\n", "config.A is a list", 3),
        ('[tool.skaal.envs.qa]\nconfig = { "A-B" = "x" }\n', "not an environment variable", 3),
        ('[tool.skaal.envs.aws]\ntarget = "aws"\n', "is a target's name", 3),
        ("[tool.skaal.envs.Prod]\n", "is not 1-20 lowercase letters", 3),
        ('[tool.skaal]\napp = "a:app"\nenv = "qa"\n', "unknown environment 'qa'", 5),
        ('[tool.skaal]\napp = "a:app"\nenv = 3\n', "env must be the name of an environment", 5),
        ('[tool.skaal]\napp = "a:app"\nenvs = 3\n', "envs must be a table", 5),
    ],
)
def test_mistakes_name_the_file_line_and_key(
    tmp_path: Path, table: str, message: str, line: int
) -> None:
    text = '[project]\nname = "x"\n' + table
    project_with(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_project(tmp_path)
    err = info.value
    assert message in err.what
    assert err.where is not None
    assert err.where.startswith(f"{tmp_path / 'pyproject.toml'}:{line}")
    assert err.fix


def test_unreadable_pyproject_is_a_usage_error(tmp_path: Path) -> None:
    project_with(tmp_path, "[tool.skaal\n")
    with pytest.raises(UsageError, match="cannot read"):
        load_project(tmp_path)


def _name(env: Environment | None) -> str | None:
    return None if env is None else env.name


def test_the_cli_and_the_runtime_read_one_variable() -> None:
    assert ENV_VARIABLE == RUNTIME_VARIABLE == "SKAAL_ENV"
