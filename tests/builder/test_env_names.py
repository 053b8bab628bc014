"""Two environments of one app build programs whose cloud names never collide.

The shop example is built for aws and for gcp in the ``staging`` and
``prod`` environments, each program is run under Pulumi's mocks, and every
account- or project-level name it gives a resource (tables, buckets, queues,
roles, functions, service accounts, secrets, instances, gateways) is
collected: each one carries ``<app>-<env>``, and no name of one environment
is a name of the other.  The runtime computes the same names from
``SKAAL_ENV`` (checked last).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

from skaal.builder.model import BuildContext
from skaal.builder.targets.aws import build_aws
from skaal.builder.targets.gcp import build_gcp
from skaal.builder.targets.local import build_local
from skaal.builder.writer import FileWriter
from skaal.plan.naming import name_base, physical_name
from skaal.plan.wiring import DATA_DIR_ENV
from skaal.runtime.ports import BackendSettings
from tests.builder import aws_support, gcp_mocks
from tests.builder._pulumi import Run
from tests.builder.test_local import build_counter, run_program

pytestmark = pytest.mark.slow

#: The inputs holding a name the provider's namespace must keep unique.
NAME_KEYS = (
    "accountId",
    "apiConfigIdPrefix",
    "apiId",
    "bucketPrefix",
    "gatewayId",
    "identifier",
    "name",
    "secretId",
)
#: Names that are not account-level: API Gateway stages and routes, Firestore's default database.
LOCAL_NAMES = {"$default", "(default)"}
LOCAL_TYPES = {"gcp:sql/user:User"}
"""Resources named within another one (a Cloud SQL user within its instance)."""
MOCK_ID = "-id"
"""The end of the ids the mocks give out (a reference to another resource, not a name)."""


def names(run: Run) -> dict[tuple[str, str], str]:
    """(resource type, logical name, key) -> every name-like input of the program's resources."""
    found = {}
    for item in run.resources:
        if item.type in LOCAL_TYPES:
            continue
        for key in NAME_KEYS:
            value = item.inputs.get(key)
            if isinstance(value, str) and value not in LOCAL_NAMES and not value.endswith(MOCK_ID):
                found[(item.type, f"{item.name}.{key}")] = value
    return found


def aws_names(context: BuildContext, env: str, folder: Path) -> dict[tuple[str, str], str]:
    artifacts = build_aws(msgspec.structs.replace(context, env=env))
    return names(aws_support.run_program(aws_support.write_with_layer(artifacts, folder)))


def gcp_names(context: BuildContext, env: str) -> dict[tuple[str, str], str]:
    artifacts = build_gcp(msgspec.structs.replace(context, env=env))
    return names(gcp_mocks.run_artifacts(artifacts, gcp_mocks.CONFIG))


def check_apart(staging: dict[tuple[str, str], str], prod: dict[tuple[str, str], str]) -> None:
    # the same resources, named apart
    assert Counter(t for t, _ in staging) == Counter(t for t, _ in prod)
    assert len(staging) > 12
    assert not set(staging.values()) & set(prod.values())
    for env, found in (("staging", staging), ("prod", prod)):
        for where, name in found.items():
            assert f"shop-{env}" in name or f"shop_{env}" in name, (where, name)


def test_aws_names_of_two_environments_are_apart(tmp_path: Path) -> None:
    context, artifacts = aws_support.build_example("shop")
    staging = aws_names(context, "staging", tmp_path / "staging")
    prod = aws_names(context, "prod", tmp_path / "prod")
    check_apart(staging, prod)
    assert staging[("aws:rds/instance:Instance", "rds-postgres-1.identifier")] == (
        "shop-staging-rds-postgres-1"
    )
    files = {a.path for a in build_aws(msgspec.structs.replace(context, env="staging")).files}
    assert "Pulumi.staging.yaml" in files
    assert "Pulumi.prod.yaml" not in files
    assert "Pulumi.prod.yaml" in {a.path for a in artifacts.files}  # no env: the usual stack


def test_gcp_names_of_two_environments_are_apart() -> None:
    context, _ = gcp_mocks.build_example("shop")
    staging = gcp_names(context, "staging")
    prod = gcp_names(context, "prod")
    check_apart(staging, prod)
    assert staging[("gcp:secretmanager/secret:Secret", "STRIPE_KEY.secretId")] == (
        "shop-staging-stripe-key"
    )
    files = {a.path for a in build_gcp(msgspec.structs.replace(context, env="staging")).files}
    assert "infra/Pulumi.staging.yaml" in files


def test_the_runtime_names_resources_as_the_build_does(tmp_path: Path) -> None:
    settings = BackendSettings(
        app="shop",
        data_dir=tmp_path,
        project_dir=tmp_path,
        env={},
        clock=lambda: 0.0,
        env_name="staging",
    )
    assert settings.name_base == name_base("shop", "staging") == "shop-staging"
    assert physical_name(settings.name_base, "cart.Carts", service="dynamodb") == (
        "shop-staging-cart-carts"
    )
    outside = msgspec.structs.replace(settings, env_name="")
    assert outside.name_base == "shop"


def test_the_local_stack_of_an_environment_records_its_variables(tmp_path: Path) -> None:

    built = build_counter(tmp_path)
    context = msgspec.structs.replace(
        built.context, env="staging", config=(("LOG_LEVEL", "debug"),)
    )
    folder = FileWriter(tmp_path / "staging").write(build_local(context)).folder
    assert (folder / "infra/Pulumi.staging.yaml").is_file()
    recorder, outputs = run_program(folder, {})
    env = outputs["env"]
    assert env["SKAAL_ENV"] == "staging"
    assert env["LOG_LEVEL"] == "debug"
    assert env[DATA_DIR_ENV] == "data"
    assert [(t, n) for t, n, _ in recorder.resources] == [("skaal:local:App", "counter")]
