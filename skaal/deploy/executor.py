"""Deploy executors: "preview only" and "preview, confirm, apply, record".

``--dry-run`` is not a flag threaded through the steps: it selects a
different executor.  Both take a validated
:class:`~skaal.deploy.request.DeployRequest` and an
:class:`~skaal.deploy.engine.Engine`:

* :class:`PreviewOnly` runs the engine's preview, prints what would change
  and stops.  It changes nothing and records nothing.
* :class:`ApplyChanges` previews, asks its :class:`~skaal.deploy.confirm.Confirmer`
  (a "no" ends the run with nothing changed), runs the update with progress
  streamed to ``echo``, prints the stack outputs (service URLs...) and
  writes the :class:`~skaal.deploy.state.DeploymentRecord` through its
  :class:`~skaal.deploy.state.DeploymentStore`.

:func:`select_executor` makes the choice in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from msgspec import Struct

from skaal.deploy.confirm import Confirmer
from skaal.deploy.engine import Applied, Engine, Preview
from skaal.deploy.request import DeployRequest
from skaal.deploy.state import DeploymentRecord, DeploymentStore

__all__ = [
    "ApplyChanges",
    "DeployOutcome",
    "Echo",
    "Executor",
    "PreviewOnly",
    "select_executor",
]

Echo = Callable[[str], None]


class DeployOutcome(Struct, frozen=True):
    """What a deploy run did: the preview, and the update if one ran."""

    preview: Preview
    applied: Applied | None = None
    record: Path | None = None

    @property
    def changed(self) -> bool:
        return self.applied is not None


class Executor(Protocol):
    def run(self, request: DeployRequest) -> DeployOutcome: ...


def _preview(engine: Engine, request: DeployRequest, echo: Echo) -> Preview:
    ref = request.ref
    echo(f"previewing stack {ref.stack!r} of artifacts/{ref.target}/ (state: {ref.backend_url})")
    preview = engine.preview(ref, config={}, on_output=echo)
    echo(f"preview: {preview.summary()}")
    return preview


class PreviewOnly(Struct, frozen=True):
    """``--dry-run``: preview and stop."""

    engine: Engine
    echo: Echo

    def run(self, request: DeployRequest) -> DeployOutcome:
        preview = _preview(self.engine, request, self.echo)
        self.echo("dry run: nothing was changed")
        return DeployOutcome(preview=preview)


class ApplyChanges(Struct, frozen=True):
    """Preview, confirm, update, print outputs, record the deployment."""

    engine: Engine
    confirmer: Confirmer
    store: DeploymentStore
    clock: Callable[[], str]
    echo: Echo

    def run(self, request: DeployRequest) -> DeployOutcome:
        ref = request.ref
        preview = _preview(self.engine, request, self.echo)
        question = f"Deploy {preview.summary()} to stack {ref.stack!r} ({ref.target})?"
        if not self.confirmer.confirm(question):
            self.echo("cancelled: nothing was changed")
            return DeployOutcome(preview=preview)
        applied = self.engine.up(ref, config={}, on_output=self.echo)
        _print_outputs(applied.outputs, self.echo)
        record = DeploymentRecord(
            target=ref.target,
            stack=ref.stack,
            app=request.app,
            plan_hash=request.plan_hash,
            skaal_version=request.skaal_version,
            backend_url=ref.backend_url,
            deployed_at=self.clock(),
            outputs=applied.outputs,
        )
        path = self.store.write(record)
        self.echo(f"recorded the deployment in {path}")
        return DeployOutcome(preview=preview, applied=applied, record=path)


def _print_outputs(outputs: Mapping[str, str], echo: Echo) -> None:
    if not outputs:
        echo("the stack has no outputs")
        return
    echo("outputs:")
    width = max(len(name) for name in outputs)
    for name, value in outputs.items():
        echo(f"  {name.ljust(width)}  {value}")


def select_executor(
    *,
    dry_run: bool,
    engine: Engine,
    confirmer: Callable[[], Confirmer],
    store: DeploymentStore,
    clock: Callable[[], str],
    echo: Echo,
) -> Executor:
    """:class:`PreviewOnly` for a dry run, else :class:`ApplyChanges`.

    ``confirmer`` is called only when changes will be applied, so a dry run
    needs neither ``--yes`` nor a terminal.
    """
    if dry_run:
        return PreviewOnly(engine=engine, echo=echo)
    return ApplyChanges(engine=engine, confirmer=confirmer(), store=store, clock=clock, echo=echo)
