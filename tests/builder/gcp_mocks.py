"""Run the gcp Pulumi program under Pulumi's mocks and record every resource.

:func:`run_program` executes a ``__main__.py`` with ``pulumi.runtime.set_mocks``
and stack config, waits for every registration (``@pulumi.runtime.test``),
and returns what was registered: type, logical name, resolved inputs and the
``protect`` / ``retain_on_delete`` options (seen through a stack
transformation, since the mocks do not receive options).  :func:`run_stack`
runs the fixed program on a stack model, :func:`run_artifacts` the
``infra/`` folder of a built artifact set.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from skaal.builder.model import ArtifactSet, BuildContext
from skaal.builder.stacks.base import STACK_FILE, stack_text
from skaal.builder.stacks.gcp import GcpStack
from skaal.builder.targets.gcp import build_gcp
from skaal.catalog.loader import load_catalog
from skaal.declare.app_ref import load_app
from skaal.solver import solve
from tests.builder._pulumi import (
    ROOT,
    Recorded,
    Run,
    capture_options,
    example_context,
    mocked,
)

PROJECT = "acme-prod"
PROJECT_NUMBER = "123456789012"
READ_SUBSCRIPTIONS: dict[str, dict[str, Any]] = {}
"""Path -> the state a program reads of an existing subscription (``Subscription.get``);
tests set it for the subscriptions their app adopts."""


class _Recorder(Mocks):
    def __init__(self, run: Run) -> None:
        self.run = run

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        read = args.resource_id or None  # Resource.get: the existing resource's id
        self.run.resources.append(Recorded(args.typ, args.name, dict(args.inputs), read_id=read))
        outputs = dict(args.inputs)
        if read and args.typ == "gcp:pubsub/subscription:Subscription":
            outputs.update(READ_SUBSCRIPTIONS.get(read, {}))
        if read and args.typ == "gcp:storage/bucket:Bucket":
            outputs["name"] = read
        if args.typ == "gcp:cloudrunv2/service:Service":
            outputs["uri"] = f"https://{args.inputs.get('name')}-xyz-uc.a.run.app"
        if args.typ == "gcp:apigateway/gateway:Gateway":
            outputs["defaultHostname"] = f"{args.inputs['gatewayId']}-abc123.uc.gateway.dev"
        if args.typ == "gcp:serviceaccount/account:Account":
            outputs["email"] = f"{args.inputs['accountId']}@{PROJECT}.iam.gserviceaccount.com"
            # Google assigns a 21-digit id when the account is created
            outputs["uniqueId"] = str(int(hashlib.sha256(args.name.encode()).hexdigest(), 16))[:21]
        if args.typ == "gcp:sql/databaseInstance:DatabaseInstance":
            name = args.inputs.get("name") or (read or "").rsplit("/", 1)[-1]
            outputs["connectionName"] = f"{PROJECT}:us-central1:{name}"
        if args.typ == "gcp:redis/instance:Instance":
            outputs.update(host="10.0.0.3", port=6379)
            outputs.update(readEndpoint="10.0.0.4", readEndpointPort=6379)
        if args.typ == "gcp:secretmanager/secret:Secret":
            outputs["name"] = f"projects/{PROJECT_NUMBER}/secrets/{args.inputs['secretId']}"
        return read or f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        self.run.calls.append(args.token)
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": PROJECT_NUMBER, "projectId": PROJECT}
        return {}


def run_program(source: str, config: dict[str, str], *, path: Path | None = None) -> Run:
    """Execute ``source`` (a ``__main__.py``) under mocks with ``config``; what it created.

    ``path``: where the program is (its ``__file__``), for a program reading files beside it.
    """
    run = Run()
    exported = pulumi.export

    def record(name: str, value: Any) -> None:
        # the mocks see no stack outputs: resolve each one into run.exports
        pulumi.Output.from_input(value).apply(lambda v: run.exports.__setitem__(name, v))
        exported(name, value)

    @pulumi.runtime.test
    def execute() -> None:
        namespace: dict[str, Any] = {"__name__": "__main__"}
        if path is not None:
            namespace["__file__"] = str(path)
        exec(compile(source, str(path or "__main__.py"), "exec"), namespace)

    with mocked(_Recorder(run), project="skaal-test", stack="dev", config=config):
        apply_options = capture_options(run)
        pulumi.export = record
        try:
            with warnings.catch_warnings():
                # pulumi_gcp.storage warns about one of its own deprecated aliases on import
                warnings.filterwarnings(
                    "ignore", category=DeprecationWarning, module=r"pulumi_gcp\."
                )
                execute()
        finally:
            pulumi.export = exported
    apply_options()
    return run


def run_artifacts(artifacts: ArtifactSet, config: dict[str, str]) -> Run:
    """Run the ``infra/__main__.py`` of ``artifacts`` beside the rest of its ``infra/``."""
    with tempfile.TemporaryDirectory() as folder:
        for item in artifacts.files:
            if item.path.startswith("infra/"):
                target = Path(folder) / item.path
                target.parent.mkdir(parents=True, exist_ok=True)
                content = item.content
                assert isinstance(content, str)
                target.write_text(content, encoding="utf-8")
        program = Path(folder) / "infra" / "__main__.py"
        return run_program(program.read_text(encoding="utf-8"), config, path=program)


def run_stack(stack: GcpStack, config: dict[str, str]) -> Run:
    """Run the fixed gcp program on ``stack`` (written as a ``stack.json``) under mocks."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / STACK_FILE
        path.write_text(stack_text(stack), encoding="utf-8")
        source = (
            "from pathlib import Path\nfrom skaal.programs.gcp import run\nrun(Path(__file__))\n"
        )
        return run_program(source, config, path=path)


CONFIG = {
    "gcp:project": PROJECT,
    "skaal:image": "us-central1-docker.pkg.dev/acme-prod/apps/app:1",
    "skaal:STRIPE_KEY": "sk_test",
    "skaal:WEBHOOK_TOKEN": "token",
    "skaal:databasePassword": "pw",
}


def build_example(
    example: str, *, pins: dict[str, str] | None = None
) -> tuple[BuildContext, ArtifactSet]:
    """Plan ``example`` on the gcp catalog (in memory) and build its gcp artifact set."""
    app = load_app(f"examples/{example}/app.py:app", cwd=ROOT)
    plan = solve(app.blueprint(), load_catalog("gcp"), pins=pins or {})
    context = example_context(example, app.blueprint(), plan, "gcp")
    return context, build_gcp(context)
