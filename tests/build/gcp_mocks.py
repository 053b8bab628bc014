"""Run a generated gcp Pulumi program under Pulumi's mocks and record every resource.

:func:`run_program` executes the program text with ``pulumi.runtime.set_mocks``
and stack config, waits for every registration (``@pulumi.runtime.test``),
and returns what was registered: type, logical name, resolved inputs and the
``protect`` / ``retain_on_delete`` options (seen through a stack
transformation, since the mocks do not receive options).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks

from skaal.build.model import ArtifactSet, BuildContext
from skaal.build.sources import read_app_sources
from skaal.build.targets.gcp import build_gcp
from skaal.catalog.loader import load_catalog
from skaal.cli.app_ref import load_app
from skaal.solver import solve

PROJECT = "acme-prod"
PROJECT_NUMBER = "123456789012"


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    protect: bool = False
    retain: bool = False


@dataclass
class Run:
    resources: list[Recorded] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Recorded:
        (found,) = [r for r in self.resources if r.name == name]
        return found


class _Recorder(Mocks):
    def __init__(self, run: Run) -> None:
        self.run = run

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.run.resources.append(Recorded(args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        if args.typ == "gcp:cloudrunv2/service:Service":
            outputs["uri"] = f"https://{args.inputs.get('name')}-xyz-uc.a.run.app"
        if args.typ == "gcp:serviceaccount/account:Account":
            outputs["email"] = f"{args.inputs['accountId']}@{PROJECT}.iam.gserviceaccount.com"
        if args.typ == "gcp:sql/databaseInstance:DatabaseInstance":
            outputs["connectionName"] = f"{PROJECT}:us-central1:{args.inputs['name']}"
        if args.typ == "gcp:redis/instance:Instance":
            outputs.update(host="10.0.0.3", port=6379)
        if args.typ == "gcp:secretmanager/secret:Secret":
            outputs["name"] = f"projects/{PROJECT_NUMBER}/secrets/{args.inputs['secretId']}"
        return f"{args.name}-id", outputs

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        self.run.calls.append(args.token)
        if args.token == "gcp:organizations/getProject:getProject":
            return {"number": PROJECT_NUMBER, "projectId": PROJECT}
        return {}


def run_program(source: str, config: dict[str, str]) -> Run:
    """Execute ``source`` (a ``__main__.py``) under mocks with ``config``; what it created."""
    run = Run()
    pulumi.runtime.set_mocks(_Recorder(run), project="skaal-test", stack="dev", preview=False)
    pulumi.runtime.set_all_config(config)
    options: dict[str, tuple[bool, bool]] = {}

    def capture(args: pulumi.ResourceTransformationArgs) -> None:
        options[args.name] = (bool(args.opts.protect), bool(args.opts.retain_on_delete))

    pulumi.runtime.register_stack_transformation(capture)

    @pulumi.runtime.test
    def execute() -> None:
        namespace: dict[str, Any] = {"__name__": "__main__"}
        exec(compile(source, "__main__.py", "exec"), namespace)

    with warnings.catch_warnings():
        # pulumi_gcp.storage warns about one of its own deprecated aliases on import
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pulumi_gcp\.")
        execute()
    for item in run.resources:
        item.protect, item.retain = options.get(item.name, (False, False))
    return run


ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
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
    module = "shop.app" if example == "shop" else "app"
    root = EXAMPLES if example == "shop" else EXAMPLES / example
    context = BuildContext(
        blueprint=app.blueprint(),
        plan=plan,
        app_ref=f"{module}:app",
        target="gcp",
        skaal_version="0.0.0",
        app_sources=read_app_sources(root, module),
        versions=lambda name: "1.0",
    )
    return context, build_gcp(context)


def write(artifacts: ArtifactSet, folder: Path) -> Path:
    for item in artifacts.with_manifest():
        path = folder / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.content, encoding="utf-8")
    return folder
