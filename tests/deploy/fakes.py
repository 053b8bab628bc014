"""In-repo fakes of the deploy engine protocol and of pip, and a built-artifacts folder.

:class:`FakeEngine` keeps a stack's resources in memory and behaves like
Pulumi where Skaal depends on it: an update records the program's resources
(protected unless ``skaal:deleteData`` is ``true``), and a destroy fails
while any resource is protected.  It is not Pulumi: no program runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skaal.deploy.destroy import DELETE_DATA_CONFIG
from skaal.deploy.engine import Applied, OnOutput, Preview, StackRef, StackResource
from skaal.errors import DeployError

PLAN_HASH = "a" * 64
PROGRAM = (
    (
        "urn:pulumi:dev::p::gcp:storage/bucket:Bucket::catalog.Images",
        "gcp:storage/bucket:Bucket",
        True,
    ),
    (
        "urn:pulumi:dev::p::gcp:cloudrunv2/service:Service::web",
        "gcp:cloudrunv2/service:Service",
        False,
    ),
)


@dataclass
class FakeEngine:
    outputs: dict[str, str] = field(default_factory=lambda: {"web_url": "https://web.run.app"})
    state: list[StackResource] = field(default_factory=list)
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    adopted: tuple[tuple[str, str], ...] = ()
    """(urn, type) of existing resources the program reads (``Resource.get``): external."""
    deleted: list[str] = field(default_factory=list)
    """The urns a destroy deleted (never an external one, as Pulumi)."""

    def preview(self, ref: StackRef, *, config: Mapping[str, str], on_output: OnOutput) -> Preview:
        self.calls.append(("preview", ref.stack, dict(config)))
        on_output("+ gcp:storage/bucket:Bucket catalog.Images create")
        return Preview(changes={"create": len(PROGRAM) - len(self.state), "same": len(self.state)})

    def up(self, ref: StackRef, *, config: Mapping[str, str], on_output: OnOutput) -> Applied:
        self.calls.append(("up", ref.stack, dict(config)))
        keep = config.get(DELETE_DATA_CONFIG) != "true"
        self.state = [
            StackResource(
                urn=urn, type=typ, protected=stateful and keep, retained=stateful and keep
            )
            for urn, typ, stateful in PROGRAM
        ] + [StackResource(urn=urn, type=typ, external=True) for urn, typ in self.adopted]
        on_output("updating...")
        return Applied(changes={"create": len(PROGRAM)}, outputs=self.outputs)

    def resources(self, ref: StackRef) -> tuple[StackResource, ...]:
        self.calls.append(("resources", ref.stack, {}))
        return tuple(self.state)

    def destroy(self, ref: StackRef, *, on_output: OnOutput) -> Mapping[str, int]:
        self.calls.append(("destroy", ref.stack, {}))
        if any(r.protected for r in self.state):
            raise DeployError("the engine refuses to delete protected resources")
        managed = [r.urn for r in self.state if not r.external]
        self.deleted += managed
        self.state = []  # an external resource leaves the state and stays where it is
        return {"delete": len(managed)}

    def ops(self) -> list[str]:
        return [c[0] for c in self.calls]


def built_project(root: Path, *, target: str = "gcp", plan_hash: str = PLAN_HASH) -> Path:
    """A project folder holding ``artifacts/<target>/`` as ``skaal build`` leaves it."""
    folder = root / "artifacts" / target
    (folder / "infra").mkdir(parents=True)
    manifest = {"target": target, "app": "shop", "plan_hash": plan_hash, "skaal_version": "1.2.3"}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (folder / "infra" / "Pulumi.yaml").write_text("name: skaal-shop-gcp\n", encoding="utf-8")
    (folder / "infra" / "Pulumi.dev.yaml").write_text("config: {}\n", encoding="utf-8")
    return root


@dataclass
class FakePip:
    """Records each command; fills ``-t``'s folder (or fails with ``status``)."""

    status: int = 0
    commands: list[tuple[str, ...]] = field(default_factory=list)
    cwds: list[Path] = field(default_factory=list)

    def __call__(self, command: Sequence[str], cwd: Path, on_output: OnOutput) -> int:
        self.commands.append(tuple(command))
        self.cwds.append(cwd)
        on_output("Collecting skaal==1.2.3")
        if self.status == 0:
            target = Path(command[command.index("-t") + 1])
            (target / "skaal").mkdir(parents=True)
            (target / "skaal" / "__init__.py").write_text(f"# build {len(self.commands)}\n")
        return self.status
