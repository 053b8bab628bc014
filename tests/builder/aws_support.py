"""Helpers for the aws target tests: plan an example, build it, run its program under mocks.

:func:`build_example` plans an example against the bundled aws catalog (in
memory) and builds the aws artifact set.  :func:`run_program` writes the set
to a folder, executes its ``__main__.py`` under ``pulumi.runtime.set_mocks``
(waiting for every registration with ``@pulumi.runtime.test``) and returns
every resource with its resolved inputs, its mock outputs and the
``protect`` / ``retain_on_delete`` options (seen through a stack
transformation: the mocks do not receive options).
"""

from __future__ import annotations

import json
import runpy
import warnings
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from skaal.builder.model import ArtifactSet, BuildContext
from skaal.builder.targets.aws import build_aws
from skaal.catalog.loader import load_catalog
from skaal.declare.app_ref import load_app
from skaal.plan.model import Plan
from skaal.solver import solve
from tests.builder._pulumi import (
    ROOT,
    Recorded,
    Run,
    capture_options,
    example_context,
    mocked,
    write,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"


class AwsRun(Run):
    """A run with the ARNs its mocks gave out."""

    def arns(self) -> set[str]:
        """Every ARN the mocks gave out, the RDS-managed master secrets' included."""
        found = {r.outputs["arn"] for r in self.resources if "arn" in r.outputs}
        for item in self.resources:
            found |= {s["secretArn"] for s in item.outputs.get("masterUserSecrets", [])}
        return found


def _service(typ: str) -> str:
    return typ.split(":")[1].split("/", maxsplit=1)[0]


class _Recorder(Mocks):
    def __init__(self, run: AwsRun) -> None:
        self.run = run

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        read = args.resource_id or None  # Resource.get: the existing resource's id
        name = str(
            read
            or inputs.get("name")
            or inputs.get("bucket")
            or inputs.get("identifier")
            or args.name
        )
        outputs = dict(inputs)
        service = _service(args.typ)
        if args.typ == "aws:s3/bucket:Bucket":
            if "bucketPrefix" in inputs:  # S3 completes the prefix with a unique suffix
                name = outputs["bucket"] = inputs["bucketPrefix"] + "20261203000000000001"
            outputs["arn"] = f"arn:aws:s3:::{name}"
            if read:
                outputs["bucket"] = name
        elif service == "dynamodb":
            outputs["arn"] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif args.typ == "aws:sqs/queue:Queue" and read:  # an adopted queue: its URL is its id
            name = read.rsplit("/", 1)[-1]
            outputs["arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
            outputs["url"] = read
            if not name.startswith("bare-"):  # a queue of that name has no redrive policy
                dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}-dead"
                outputs["redrivePolicy"] = json.dumps({"deadLetterTargetArn": dlq})
        elif service == "sqs" and args.typ == "aws:sqs/queue:Queue":
            outputs["arn"] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
            outputs["url"] = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
        elif service == "cloudwatch":
            outputs["arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
        elif service == "lambda" and args.typ == "aws:lambda/function:Function":
            outputs["arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
        elif args.typ == "aws:apigatewayv2/api:Api":
            outputs["apiEndpoint"] = f"https://abc123.execute-api.{REGION}.amazonaws.com"
            outputs["executionArn"] = f"arn:aws:execute-api:{REGION}:{ACCOUNT}:abc123"
        elif args.typ == "aws:rds/instance:Instance":
            outputs["address"] = f"{name}.abc.{REGION}.rds.amazonaws.com"
            if inputs.get("manageMasterUserPassword"):
                secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!{name}"
                outputs["masterUserSecrets"] = [{"secretArn": secret}]
        elif args.typ == "aws:elasticache/replicationGroup:ReplicationGroup":
            outputs["primaryEndpointAddress"] = f"{name}.cache.amazonaws.com"
            outputs["readerEndpointAddress"] = f"{name}-ro.cache.amazonaws.com"
        elif args.typ == "aws:sns/topic:Topic" and read:  # an adopted topic: its ARN is its id
            outputs["arn"] = read
        elif service in ("sns", "secretsmanager", "iam", "ec2", "lambda"):
            outputs.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{args.name}")
        self.run.resources.append(
            Recorded(args.typ, args.name, inputs, outputs, provider=args.provider, read_id=read)
        )
        return read or f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        self.run.calls.append(args.token)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{REGION}a", f"{REGION}b"], "zoneIds": ["use1-az1", "use1-az2"]}
        if args.token == "aws:rds/getInstance:getInstance":  # an adopted RDS instance
            name = args.args["dbInstanceIdentifier"]
            return {
                "address": f"{name}.legacy.{REGION}.rds.amazonaws.com",
                "port": 5433,
                "dbName": "shop",
                "masterUsername": "shopadmin",
                "vpcSecurityGroups": ["sg-legacy-b", "sg-legacy-a"],
            }
        if args.token == "aws:rds/getCluster:getCluster":  # an adopted Aurora cluster
            name = args.args["clusterIdentifier"]
            return {
                "endpoint": f"{name}.cluster-legacy.{REGION}.rds.amazonaws.com",
                "port": 5432,
                "databaseName": "orders",
                "masterUsername": "ordersadmin",
                "vpcSecurityGroupIds": ["sg-aurora"],
            }
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "userId": "u"}
        return {}


def plan_example(example: str) -> tuple[Any, Plan]:
    app = load_app(f"examples/{example}/app.py:app", cwd=ROOT)
    plan = solve(app.blueprint(), load_catalog("aws"))
    return app, plan


def build_example(example: str) -> tuple[BuildContext, ArtifactSet]:
    app, plan = plan_example(example)
    context = example_context(example, app.blueprint(), plan, "aws")
    return context, build_aws(context)


def app_context(blueprint: Any, plan: Plan, app_ref: str, *, target: str = "aws") -> BuildContext:
    """The build context (aws unless ``target`` says) of an app declared in a test."""
    return BuildContext(
        blueprint=blueprint,
        plan=plan,
        app_ref=app_ref,
        target=target,
        skaal_version="0.0.0",
        versions=lambda name: "1.0",
    )


def write_with_layer(artifacts: ArtifactSet, folder: Path) -> Path:
    """Write the artifacts, with an (empty) ``layer/python`` standing in for the dependencies."""
    root = write(artifacts, folder)
    (root / "layer" / "python").mkdir(parents=True)
    return root


def run_program(folder: Path, config: dict[str, str] | None = None) -> AwsRun:
    """Execute ``folder/__main__.py`` under mocks with stack ``config``; every resource it
    registered."""
    run = AwsRun()

    @pulumi.runtime.test
    def execute() -> None:
        runpy.run_path(str(folder / "__main__.py"), run_name="__main__")

    with mocked(_Recorder(run), project="skaal-test", stack="prod", config=config):
        apply_options = capture_options(run)
        with warnings.catch_warnings():
            # pulumi_aws marks some of its own submodules deprecated when they are imported
            warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_aws\.")
            execute()
    apply_options()
    return run


def region_of(run: Run, item: Recorded) -> str | None:
    """The region of the provider ``item`` was created with (``None``: the default provider)."""
    if item.provider is None:
        return None
    ident = item.provider.rpartition("::")[2]
    for provider in run.of_type("pulumi:providers:aws"):
        if f"{provider.name}-id" == ident:
            region: str = provider.inputs["region"]
            return region
    return None
