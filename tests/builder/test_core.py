"""The build core: artifact records, wiring, requirements, Dockerfile, lock checks, writer."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from skaal import App, Map
from skaal.blueprint.model import Blueprint, Kind, ResourceSpec, SourceLocation
from skaal.builder.dockerfile import DockerfileSpec, dockerfile
from skaal.builder.inputs import check_lock
from skaal.builder.model import MANIFEST_NAME, Artifact, ArtifactSet, BuildContext, sha256_text
from skaal.builder.requirements import (
    Requirement,
    imported_distributions,
    parse_requirements,
    requirements_artifact,
    requirements_for,
    requirements_txt,
)
from skaal.builder.targets import TARGETS, get_target
from skaal.builder.writer import DryRunWriter, FileWriter, write_file
from skaal.catalog import catalog_for_target
from skaal.errors import BuildError, UsageError
from skaal.pipeline import MemoryLockStore, plan_blueprint
from skaal.plan import naming
from skaal.plan.model import Binding, Plan
from skaal.plan.wiring import (
    DATA_DIR_ENV,
    binding_name,
    env_token,
    physical_name,
    resource_env,
    servers,
    wire,
)
from skaal.runtime.backends import gcp_common as common
from skaal.runtime.runtime import Runtime

HERE = SourceLocation(file="app.py", line=1)
VERSIONS = {"boto3": "1.2.3", "redis": "5.0.0", "starlette": "1.0.0", "uvicorn": "0.30.0"}


def spec(name: str, kind: Kind) -> ResourceSpec:
    return ResourceSpec(name=name, kind=kind, location=HERE)


def blueprint(*specs: ResourceSpec) -> Blueprint:
    return Blueprint(app="shop", resources=specs)


def binding(resource: str, kind: Kind, implementation: str, **extra: object) -> Binding:
    return Binding(
        resource=resource,
        kind=kind,
        backend=implementation,
        implementation=implementation,
        region="us-east-1",
        monthly_cost=0.0,
        reason="test",
        **extra,  # type: ignore[arg-type]
    )


def make_plan(
    *bindings: Binding, provider: str = "aws", bp: Blueprint | None = None, catalog: str = "aws"
) -> Plan:
    return Plan(
        app="shop",
        catalog=catalog,
        provider=provider,  # type: ignore[arg-type]
        region="us-east-1",
        blueprint_hash=(bp or blueprint()).content_hash(),
        catalog_hash="c" * 64,
        bindings=bindings,
        total_monthly_cost=0.0,
    )


def make_context(plan: Plan, *, target: str = "aws") -> BuildContext:
    return BuildContext(
        blueprint=blueprint(),
        plan=plan,
        app_ref="shop.app:app",
        target=target,
        skaal_version="9.9.9",
        versions=VERSIONS.get,
        app_sources=(Artifact("shop/app.py", "x = 1\n"), Artifact("shop/__init__.py", "")),
    )


# -- model -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../up", "a/../b", "a\\b", "a//b", "./a"])
def test_artifact_paths_must_be_clean_relative_posix(path: str) -> None:
    with pytest.raises(BuildError, match="clean relative posix path"):
        Artifact(path, "")


def test_artifact_set_sorts_files_and_hashes_them_in_the_manifest() -> None:
    files = (Artifact("b.txt", "b"), Artifact("a/x.py", "x", executable=True))
    built = ArtifactSet(
        target="local", files=files, plan_hash="p", blueprint_hash="b", skaal_version="1", app="a"
    )
    assert built.paths() == ("a/x.py", "b.txt")
    manifest = built.manifest()
    assert manifest["files"] == {
        "a/x.py": {"sha256": sha256_text("x"), "executable": True},
        "b.txt": {"sha256": sha256_text("b"), "executable": False},
    }
    assert (manifest["plan_hash"], manifest["blueprint_hash"], manifest["skaal_version"]) == (
        "p",
        "b",
        "1",
    )
    written = built.with_manifest()
    assert [f.path for f in written] == ["a/x.py", "b.txt", MANIFEST_NAME]
    assert json.loads(written[-1].content) == manifest
    assert built.manifest_text() == built.manifest_text()


def test_artifact_set_refuses_duplicates_and_its_own_manifest() -> None:
    with pytest.raises(BuildError, match=r"a\.txt more than once"):
        ArtifactSet("local", (Artifact("a.txt", "1"), Artifact("a.txt", "2")), "p", "b", "1")
    with pytest.raises(BuildError, match=r"its own manifest\.json"):
        ArtifactSet("local", (Artifact(MANIFEST_NAME, "{}"),), "p", "b", "1")


def test_context_ships_sources_under_a_prefix() -> None:
    context = make_context(make_plan())
    assert context.app_source_files == ("shop/__init__.py", "shop/app.py")
    assert [a.path for a in context.source_artifacts("src/")] == [
        "src/shop/app.py",
        "src/shop/__init__.py",
    ]
    assert (context.app_module, context.app_attr) == ("shop.app", "app")


# -- wiring ------------------------------------------------------------------------------


def test_variable_names_are_derived_from_resource_names() -> None:
    assert env_token("billing.Invoices") == "BILLING_INVOICES"
    assert resource_env("billing.Invoices") == "SKAAL_BILLING_INVOICES_NAME"
    assert resource_env("Jobs", "url") == "SKAAL_JOBS_URL"


def test_long_physical_names_are_cut_with_a_hash_and_stay_distinct() -> None:
    assert physical_name("Shop", "billing.Invoices") == "shop-billing-invoices"
    assert physical_name("shop", "Data", separator="_") == "shop_data"
    first = physical_name("shop", "a" * 80 + "1", max_length=30)
    second = physical_name("shop", "a" * 80 + "2", max_length=30)
    assert len(first) == len(second) == 30
    assert first != second


@pytest.mark.parametrize(
    ("implementation", "service"),
    [("dynamodb", "dynamodb"), ("s3", "s3"), ("sqs", "sqs"), ("sns", "sns"), ("gcs", "s3")],
)
def test_binding_names_are_the_runtime_names(implementation: str, service: str) -> None:
    long = "Resource" * 12
    bound = binding(long, "map", implementation)
    assert binding_name("shop", bound) == naming.physical_name("shop", long, service=service)  # type: ignore[arg-type]
    assert binding_name("shop", bound, prefix="ci") == naming.physical_name(
        "shop",
        long,
        service=service,  # type: ignore[arg-type]
        prefix="ci",
    )


def test_gcp_names_match_the_gcp_runtime() -> None:
    for resource in ("Carts", "billing.Invoices", "x" * 90):
        bound = binding(resource, "blob", "gcs")
        assert binding_name("shop", bound) == common.gcp_name("shop", resource)


def test_wiring_of_a_plan() -> None:
    plan = make_plan(
        binding("Carts", "map", "dynamodb"),
        binding("Cache", "map", "redis", instance="redis#1"),
        binding("checkout", "function", "lambda"),
    )
    wiring = wire(plan, name_prefix="stage")
    assert wiring.env() == {
        "SKAAL_APP": "shop",
        "SKAAL_AWS_NAME_PREFIX": "stage",
        "SKAAL_PLAN_HASH": plan.content_hash(),
        "SKAAL_PROVIDER": "aws",
        "SKAAL_REGION": "us-east-1",
    }
    assert wiring.resource("Carts").physical_name == "stage-shop-carts"
    assert wiring.resource("Cache").connection_env == "SKAAL_REDIS_URL"
    assert wiring.resource("Carts").connection_env is None
    assert wiring.connection_envs() == ("SKAAL_REDIS_URL",)
    assert "SKAAL_AWS_NAME_PREFIX" not in wire(plan).env()
    assert wiring.resource("Cache").server == "redis#1"
    assert wiring.resource("Carts").server is None
    with pytest.raises(KeyError):
        wiring.resource("Nope")
    with pytest.raises(KeyError):
        wiring.server("Carts")


def test_every_server_of_a_plan_gets_its_own_variable() -> None:
    # Two PostgreSQL instances (a second one opened, or two catalog backends of
    # one implementation): the first keeps the plain variable, the others get
    # one named after their instance, in instance-number order.
    plan = make_plan(
        binding("Orders", "collection", "postgres", instance="rds-postgres#1"),
        binding("Ledger", "map", "postgres", instance="rds-postgres#10"),
        binding("Audit", "map", "postgres", instance="rds-postgres#2"),
        binding("Stock", "map", "postgres", instance="rds-postgres#2"),
        binding("Cache", "map", "redis", instance="redis#1"),
        binding("Carts", "map", "dynamodb"),
    )
    found = {s.id: (s.env, s.primary, s.resources) for s in servers(plan)}
    assert found == {
        "rds-postgres#1": ("SKAAL_POSTGRES_DSN", True, ("Orders",)),
        "rds-postgres#2": ("SKAAL_POSTGRES_DSN_RDS_POSTGRES_2", False, ("Audit", "Stock")),
        "rds-postgres#10": ("SKAAL_POSTGRES_DSN_RDS_POSTGRES_10", False, ("Ledger",)),
        "redis#1": ("SKAAL_REDIS_URL", True, ("Cache",)),
    }
    wiring = wire(plan)
    assert wiring.resource("Stock").connection_env == "SKAAL_POSTGRES_DSN_RDS_POSTGRES_2"
    assert wiring.resource("Ledger").server == "rds-postgres#10"
    assert wiring.connection_envs() == (
        "SKAAL_POSTGRES_DSN",
        "SKAAL_POSTGRES_DSN_RDS_POSTGRES_10",
        "SKAAL_POSTGRES_DSN_RDS_POSTGRES_2",
        "SKAAL_REDIS_URL",
    )


def test_a_dedicated_server_backend_gives_each_resource_its_own_server() -> None:
    # Without a shared instance, each resource is the only one on its server.
    plan = make_plan(
        binding("B", "map", "redis"),
        binding("A", "map", "redis"),
    )
    assert [(s.id, s.env) for s in servers(plan)] == [
        ("A", "SKAAL_REDIS_URL"),
        ("B", "SKAAL_REDIS_URL_B"),
    ]


def test_server_ids_that_fold_alike_get_distinct_variables() -> None:
    plan = make_plan(
        binding("A", "map", "redis", instance="cache#1"),
        binding("B", "map", "redis", instance="x-y#1"),
        binding("C", "map", "redis", instance="x.y#1"),
    )
    variables = [s.env for s in servers(plan)]
    assert variables[0] == "SKAAL_REDIS_URL"
    assert len(set(variables)) == 3
    assert all(v.startswith("SKAAL_REDIS_URL_X_Y_1_") for v in variables[1:])


@pytest.mark.asyncio
async def test_the_runtime_reads_the_data_dir_variable(tmp_path: Path) -> None:
    app = App("dirs")

    @app.storage(durability="persistent")
    class Notes(Map[str, str]):
        pass

    plan = plan_blueprint(app.blueprint(), catalog_for_target("local"), lock=MemoryLockStore())
    assert plan.plan.binding("Notes").implementation == "sqlite"
    env = {DATA_DIR_ENV: "elsewhere"}
    async with Runtime.open(app, plan.plan, env=env, project_dir=tmp_path):
        await Notes.set("k", "v")
    assert sorted(p.name for p in (tmp_path / "elsewhere").iterdir())[0].startswith("dirs")
    assert not (tmp_path / ".skaal").exists()


# -- requirements ------------------------------------------------------------------------


def test_requirements_are_skaal_and_exactly_the_plans_packages() -> None:
    plan = make_plan(
        binding("Carts", "map", "dynamodb"),
        binding("Files", "blob", "s3"),
        binding("Cache", "map", "redis"),
    )
    pins = requirements_for(plan, skaal_version="9.9.9", versions=VERSIONS.get)
    assert pins == (
        Requirement("boto3", "1.2.3"),
        Requirement("redis", "5.0.0"),
        Requirement("skaal", "9.9.9"),
    )
    with_extra = requirements_for(
        plan, skaal_version="9.9.9", versions=VERSIONS.get, extra=("Uvicorn", "skaal")
    )
    assert [p.name for p in with_extra] == ["boto3", "redis", "skaal", "uvicorn"]


def test_embedded_backends_need_nothing_but_skaal() -> None:
    plan = make_plan(binding("Carts", "map", "sqlite"), binding("Files", "blob", "filesystem"))
    assert requirements_for(plan, skaal_version="1", versions=VERSIONS.get) == (
        Requirement("skaal", "1"),
    )


def test_unpinnable_and_unknown_packages_fail_the_build() -> None:
    plan = make_plan(binding("Carts", "map", "dynamodb"), binding("Docs", "map", "firestore"))
    with pytest.raises(BuildError, match="pip install google-cloud-firestore") as caught:
        requirements_for(plan, skaal_version="1", versions=VERSIONS.get)
    assert "boto3" not in caught.value.what
    odd = make_plan(binding("Carts", "map", "tape"))
    with pytest.raises(BuildError, match="no backend implementation is named 'tape'") as unknown:
        requirements_for(odd, skaal_version="1", versions=VERSIONS.get)
    assert unknown.value.where == "resource Carts (backend tape)"
    assert unknown.value.command == "skaal plan"


def test_requirements_text_round_trips() -> None:
    context = make_context(make_plan(binding("Carts", "map", "dynamodb")))
    artifact = requirements_artifact(context, extra=("starlette",))
    assert artifact.path == "requirements.txt"
    assert artifact.content.startswith("# Pinned dependencies of the Skaal app shop (aws target)")
    assert parse_requirements(artifact.content) == (
        Requirement("boto3", "1.2.3"),
        Requirement("skaal", "9.9.9"),
        Requirement("starlette", "1.0.0"),
    )
    assert requirements_txt([Requirement("b", "2"), Requirement("a", "1")]) == "a==1\nb==2\n"
    with pytest.raises(BuildError, match="line 2 is not a pin"):
        parse_requirements("a==1\nb>=2\n")


# -- Dockerfile --------------------------------------------------------------------------


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line, continuations joined, comments dropped."""
    logical = text.replace("\\\n", " ")
    found = []
    for line in logical.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            found.append((word, " ".join(rest.split())))
    return found


def test_dockerfile_is_slim_non_root_and_health_checked() -> None:
    text = dockerfile(
        DockerfileSpec(cmd=("python", "serve.py"), port=9000, writable_dirs=("data",)),
        title="Image",
    )
    steps = instructions(text)
    words = [w for w, _ in steps]
    assert steps[0] == ("FROM", "python:3.11-slim")
    assert words.index("USER") < words.index("CMD")
    assert dict(steps)["USER"] == "10001:10001"
    copies = [args for w, args in steps if w == "COPY"]
    assert copies == ["requirements.txt ./", "wheels/ wheels/", ". ./"]
    runs = [args for w, args in steps if w == "RUN"]
    # skaal==<version> resolves from the shipped wheel, whatever the index holds
    assert runs[0] == "pip install --no-cache-dir --find-links wheels -r requirements.txt"
    # dependencies are installed before the code is copied (edits do not reinstall them)
    assert steps.index(("RUN", runs[0])) < steps.index(("COPY", ". ./"))
    assert json.loads(dict(steps)["CMD"]) == ["python", "serve.py"]
    health = dict(steps)["HEALTHCHECK"]
    probe = json.loads(health.partition("CMD ")[2])
    assert probe[:2] == ["python", "-c"]
    assert "'9000'" in probe[2]
    assert "/openapi.json" in probe[2]
    compile(probe[2], "<healthcheck>", "exec")
    assert "EXPOSE" in words
    assert runs[-1] == "mkdir -p data && chown skaal:skaal data"
    assert "PORT=9000" in shlex.split(dict(steps)["ENV"])


# -- lock checks -------------------------------------------------------------------------


def test_a_missing_lock_says_to_plan_first() -> None:
    catalog = catalog_for_target("local")
    with pytest.raises(BuildError, match="run skaal plan --target local first") as caught:
        check_lock(None, lock="skaal.lock", blueprint=blueprint(), catalog=catalog, target="local")
    assert caught.value.command == "skaal plan --target local"


def test_a_lock_for_another_provider_is_refused() -> None:
    catalog = catalog_for_target("local")
    plan = make_plan(provider="aws")
    with pytest.raises(BuildError, match="planned for 'aws', not for the 'local' target"):
        check_lock(plan, lock="skaal.lock", blueprint=blueprint(), catalog=catalog, target="local")


def test_a_stale_lock_is_refused() -> None:
    catalog = catalog_for_target("local")
    bp = blueprint()
    fresh = make_plan(provider="local", catalog=catalog.name).model_copy(
        update={"catalog_hash": catalog.content_hash()}
    )
    assert check_lock(fresh, lock="l", blueprint=bp, catalog=catalog, target="local") is fresh
    changed = blueprint(spec("Carts", "map"))
    with pytest.raises(BuildError, match="declarations changed") as caught:
        check_lock(fresh, lock="l", blueprint=changed, catalog=catalog, target="local")
    assert "skaal plan" in caught.value.render()
    old_catalog = fresh.model_copy(update={"catalog_hash": "0" * 64})
    with pytest.raises(BuildError, match="catalog 'local' changed"):
        check_lock(old_catalog, lock="l", blueprint=bp, catalog=catalog, target="local")


# -- targets -----------------------------------------------------------------------------


def test_unknown_targets_fail_helpfully() -> None:
    assert "local" in TARGETS
    assert callable(get_target("local"))
    with pytest.raises(UsageError, match="did you mean 'local'") as caught:
        get_target("locl")
    assert caught.value.exit_code == 2


# -- writer ------------------------------------------------------------------------------


def artifact_set(*files: Artifact, target: str = "local") -> ArtifactSet:
    return ArtifactSet(target, files, "p", "b", "1", app="shop")


def tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): p.read_text()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_the_writer_writes_every_file_and_the_manifest(tmp_path: Path) -> None:
    built = artifact_set(Artifact("a.txt", "a"), Artifact("bin/run", "#!/bin/sh\n", True))
    result = FileWriter(tmp_path).write(built)
    folder = tmp_path / "local"
    assert result.folder == folder
    assert result.written
    assert result.files == ("a.txt", "bin/run", MANIFEST_NAME)
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    for path, entry in manifest["files"].items():
        assert sha256_text((folder / path).read_text()) == entry["sha256"]
    assert os.access(folder / "bin/run", os.X_OK)
    assert not os.access(folder / "a.txt", os.X_OK)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local"]


def test_rewriting_replaces_the_whole_folder(tmp_path: Path) -> None:
    FileWriter(tmp_path).write(artifact_set(Artifact("old.txt", "1"), Artifact("keep.txt", "1")))
    FileWriter(tmp_path).write(artifact_set(Artifact("keep.txt", "2")))
    assert tree(tmp_path / "local") == {
        "keep.txt": "2",
        MANIFEST_NAME: artifact_set(Artifact("keep.txt", "2")).manifest_text(),
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local"]


class CrashError(Exception):
    pass


def failing_after(count: int) -> Callable[[Path, Artifact], None]:
    written: list[str] = []

    def step(folder: Path, artifact: Artifact) -> None:
        if len(written) == count:
            raise CrashError(artifact.path)
        write_file(folder, artifact)
        written.append(artifact.path)

    return step


def test_a_crash_half_way_leaves_the_previous_build_intact(tmp_path: Path) -> None:
    FileWriter(tmp_path).write(artifact_set(Artifact("a.txt", "old"), Artifact("b.txt", "old")))
    before = tree(tmp_path / "local")
    new = artifact_set(Artifact("a.txt", "new"), Artifact("b.txt", "new"))
    with pytest.raises(CrashError, match=r"b\.txt"):
        FileWriter(tmp_path, write_file=failing_after(1)).write(new)
    assert tree(tmp_path / "local") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local"]


def test_a_failed_first_build_leaves_no_folder(tmp_path: Path) -> None:
    def disk_full(folder: Path, artifact: Artifact) -> None:
        raise OSError(28, "No space left on device", str(folder / artifact.path))

    with pytest.raises(BuildError, match="No space left on device") as caught:
        FileWriter(tmp_path, write_file=disk_full).write(artifact_set(Artifact("a.txt", "x")))
    assert caught.value.where is not None
    assert caught.value.where.endswith("a.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_build_orphaned_between_renames_is_restored(tmp_path: Path) -> None:
    FileWriter(tmp_path).write(artifact_set(Artifact("a.txt", "old")))
    before = tree(tmp_path / "local")
    (tmp_path / "local").rename(tmp_path / ".local.abc.old")
    (tmp_path / ".local.xyz.tmp").mkdir()
    (tmp_path / ".local.xyz.tmp" / "half").write_text("half")
    with pytest.raises(CrashError):
        FileWriter(tmp_path, write_file=failing_after(0)).write(
            artifact_set(Artifact("a.txt", "new"))
        )
    assert tree(tmp_path / "local") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local"]


def test_a_file_in_the_way_is_a_build_error(tmp_path: Path) -> None:
    (tmp_path / "local").write_text("not a folder")
    with pytest.raises(BuildError, match="is not a folder"):
        FileWriter(tmp_path).write(artifact_set(Artifact("a.txt", "x")))


def test_the_dry_run_writer_lists_and_writes_nothing(tmp_path: Path) -> None:
    result = DryRunWriter(tmp_path / "out").write(artifact_set(Artifact("a.txt", "x")))
    assert result.files == ("a.txt", MANIFEST_NAME)
    assert not result.written
    assert result.folder == tmp_path / "out" / "local"
    assert list(tmp_path.iterdir()) == []


def test_the_apps_own_third_party_imports_are_required() -> None:
    sources = (
        Artifact(
            "shop/app.py",
            "import os\nimport json as j\nfrom fastapi import FastAPI\n"
            "from shop.cart import x\nfrom . import y\nimport skaal\n",
        ),
        Artifact("shop/cart.py", "def f():\n    import pydantic.fields\n"),
        Artifact("shop/data.txt", "import notpython"),
        Artifact("helper.py", "from helper2 import z\n"),
    )

    assert imported_distributions(sources) == ("fastapi", "pydantic")
    context = BuildContext(
        blueprint=blueprint(),
        plan=make_plan(binding("Carts", "map", "dynamodb")),
        app_ref="shop.app:app",
        target="aws",
        skaal_version="9.9.9",
        versions=VERSIONS.get,
        app_sources=sources,
    )
    names = [r.name for r in parse_requirements(requirements_artifact(context).content)]
    assert names == ["boto3", "fastapi", "pydantic", "skaal"]
