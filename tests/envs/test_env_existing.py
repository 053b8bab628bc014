"""Adopting per environment: ``[tool.skaal.envs.NAME.existing]`` read, checked, planned, built.

The project plans two environments on aws; prod adopts its legacy carts
table, dev creates its own.  The adoption enters the solver beside the
Blueprint: the Blueprint's hash is the same in both, the plans (and so the
locks) differ, only prod's binding is adopted, and only prod's aws program
reads the table instead of creating it (run under Pulumi's mocks).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from skaal import App, BlobStore, Map
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.envs.config import Project, load_project
from skaal.envs.existing import adoptions, configured_existing
from skaal.errors import UsageError
from skaal.pipeline import MemoryLockStore, plan_blueprint
from skaal.plan.lock import is_stale
from skaal.plan.model import Plan
from skaal.solver import solve
from tests.builder.aws_support import ACCOUNT, AwsRun, app_context, run_program, write_with_layer

TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/legacy-carts"

PYPROJECT = f"""\
[tool.skaal]
app = "shop_app.py:app"

[tool.skaal.existing]
Images = "legacy-images"

[tool.skaal.envs.dev]
target = "aws"

[tool.skaal.envs.prod]
target = "aws"

[tool.skaal.envs.prod.existing]
Carts = "{TABLE_ARN}"
"""


class Carts(Map[str, int]): ...


class Images(BlobStore): ...


def _shop(*, carts_existing: str | None = None) -> App:
    app = App("shop")
    if carts_existing is None:
        app.storage()(Carts)
    else:
        app.storage(existing=carts_existing)(Carts)
    app.blob()(Images)

    @app.function()
    async def basket(user: str) -> int | None:
        return await Carts.get(user)

    return app


def _project(tmp_path: Path, text: str = PYPROJECT) -> Project:
    (tmp_path / "pyproject.toml").write_text(text, encoding="utf-8")
    return load_project(tmp_path)


def _plan(project: Project, env: str | None, app: App | None = None) -> Plan:
    blueprint = (app or _shop()).blueprint()
    selected = None if env is None else project.envs[env]
    existing = adoptions(project, selected, blueprint, "aws")
    outcome = plan_blueprint(
        blueprint, load_catalog("aws"), lock=MemoryLockStore(), existing=existing
    )
    return outcome.plan


def test_the_tables_are_read_per_environment_and_for_the_project(tmp_path: Path) -> None:
    project = _project(tmp_path)
    assert dict(project.envs["prod"].existing) == {"Carts": TABLE_ARN}
    assert dict(project.envs["dev"].existing) == {}
    assert dict(project.existing) == {"Images": "legacy-images"}
    entries, where = configured_existing(project, project.envs["prod"])
    assert entries == {"Carts": TABLE_ARN}
    assert where.endswith(":13 [tool.skaal.envs.prod.existing]")
    assert configured_existing(project, None)[0] == {"Images": "legacy-images"}


def test_only_the_environment_that_adopts_gets_an_adopted_binding(tmp_path: Path) -> None:
    project = _project(tmp_path)
    dev, prod = _plan(project, "dev"), _plan(project, "prod")
    assert prod.binding("Carts").adopted == "legacy-carts"
    assert "configured, not in the code" in prod.binding("Carts").reason
    assert dev.binding("Carts").adopted is None
    # an environment does not inherit [tool.skaal.existing]
    assert dev.binding("Images").adopted is None
    assert prod.binding("Images").adopted is None
    assert dev.blueprint_hash == prod.blueprint_hash  # outside the Blueprint
    assert dev.content_hash() != prod.content_hash()  # in the lock's hash


def test_the_project_table_applies_without_an_environment(tmp_path: Path) -> None:
    plan = _plan(_project(tmp_path), None)
    assert plan.binding("Images").adopted == "legacy-images"
    assert plan.binding("Carts").adopted is None


def test_the_configuration_wins_over_existing_in_the_code(tmp_path: Path) -> None:
    app = _shop(carts_existing="code-carts")
    prod, dev = _plan(_project(tmp_path), "prod", app), _plan(_project(tmp_path), "dev", app)
    assert prod.binding("Carts").adopted == "legacy-carts"
    assert "in place of existing='code-carts' in the code" in prod.binding("Carts").reason
    assert dev.binding("Carts").adopted == "code-carts"
    assert "configured" not in dev.binding("Carts").reason
    same = _plan(_project(tmp_path), "prod", _shop(carts_existing=TABLE_ARN))
    assert "(configured, as in the code)" in same.binding("Carts").reason


def test_a_lock_planned_without_the_entry_is_stale_with_it(tmp_path: Path) -> None:
    project = _project(tmp_path)
    blueprint, catalog = _shop().blueprint(), load_catalog("aws")
    dev = _plan(project, "dev")
    prod_existing = project.envs["prod"].existing
    assert is_stale(dev, blueprint, catalog, existing=project.envs["dev"].existing) == []
    reasons = is_stale(dev, blueprint, catalog, existing=prod_existing)
    assert reasons == ["what Carts adopt(s) (existing) changed since the plan was made"]
    assert is_stale(_plan(project, "prod"), blueprint, catalog, existing=prod_existing) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('Cart = "legacy-carts"', "'Cart', which shop does not declare (did you mean 'Carts'?)"),
        ('Carts = "gs://legacy-carts"', "Carts (a map) cannot adopt 'gs://legacy-carts'"),
        ('Images = "gs://legacy-images"', "a resource on gcp, but this plan is for aws"),
        ('Carts = "postgresql://u:pw-s3cr3t@db/x"', "a connection URL"),
        (
            f'Carts = "arn:aws:rds:us-east-1:{ACCOUNT}:db:legacy secret=arn:aws:secretsmanager:'
            f'us-east-1:{ACCOUNT}:secret:db-AbCdEf cost=$120"',
            "cost='$120' is not a monthly price in US dollars",
        ),
    ],
)
def test_mistakes_name_the_line_and_the_fix(tmp_path: Path, line: str, message: str) -> None:
    text = f'[tool.skaal.envs.prod]\ntarget = "aws"\n\n[tool.skaal.envs.prod.existing]\n{line}\n'
    project = _project(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        adoptions(project, project.envs["prod"], _shop().blueprint(), "aws")
    assert message in str(caught.value)
    assert "pyproject.toml:4 [tool.skaal.envs.prod.existing]" in caught.value.where
    assert "pw-s3cr3t" not in str(caught.value)  # the password is never repeated


@pytest.mark.parametrize(
    "table",
    ['existing = "legacy"', "existing = { Carts = 3 }"],
)
def test_a_malformed_table_is_a_usage_error(tmp_path: Path, table: str) -> None:
    with pytest.raises(UsageError, match="existing"):
        _project(tmp_path, f"[tool.skaal.envs.prod]\n{table}\n")


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, AwsRun]:
    folder = tmp_path_factory.mktemp("project")
    project = _project(folder)
    app = _shop()
    blueprint = app.blueprint()
    runs = {}
    for env in ("dev", "prod"):
        existing = adoptions(project, project.envs[env], blueprint, "aws")
        plan = solve(blueprint, load_catalog("aws"), existing=existing)
        artifacts = build_aws(app_context(blueprint, plan, "shop:app"))
        runs[env] = run_program(write_with_layer(artifacts, tmp_path_factory.mktemp(env)))
    return runs


def test_only_prod_reads_the_table_instead_of_creating_it(programs: dict[str, AwsRun]) -> None:
    prod, dev = programs["prod"].named("Carts"), programs["dev"].named("Carts")
    assert prod.type == dev.type == "aws:dynamodb/table:Table"
    assert prod.read_id == "legacy-carts"
    assert prod.outputs["arn"] == TABLE_ARN
    assert dev.read_id is None
    assert programs["dev"].named("Images").read_id is None
