"""Deploy: hand built artifacts to the deploy engine, and remember what was deployed.

The last stage of the pipeline, and the only package that runs Pulumi.  The
steps, each in its own module:

1. :mod:`~skaal.deploy.request` checks the command line and the built
   artifacts (``artifacts/<target>/manifest.json`` and the Pulumi project)
   against ``skaal.lock``: a build from another plan is refused.  No side
   effects.
2. :mod:`~skaal.deploy.confirm` decides who answers "go ahead?": ``--yes``,
   the terminal, or nobody (then the command refuses).
3. :mod:`~skaal.deploy.executor` runs one of two executors: ``PreviewOnly``
   (``--dry-run``: preview, change nothing) or ``ApplyChanges`` (preview,
   confirm, update, print outputs, record).  The choice is one collaborator
   swap, not a flag threaded through the steps.
4. :mod:`~skaal.deploy.state` writes ``.skaal/deployments/<target>-<stack>.json``
   atomically after a successful update.
5. :mod:`~skaal.deploy.layer` (aws only) builds the Lambda layer with pip
   before the program runs, when its requirements or wheels changed.
6. :mod:`~skaal.deploy.destroy` tears a stack down, refusing while it holds
   protected or retained data unless ``--delete-data`` is given.

All of them speak to the engine through the :class:`~skaal.deploy.engine.Engine`
protocol; :mod:`~skaal.deploy.pulumi_engine` is the real one (Pulumi's
Automation API, which needs the ``pulumi`` CLI: its absence is a
:class:`~skaal.errors.DeployError` saying how to install it), and tests use
an in-repo fake.
"""

from __future__ import annotations

from skaal.deploy.destroy import DELETE_DATA_CONFIG, Destroyer
from skaal.deploy.engine import Applied, Engine, Preview, StackRef, StackResource
from skaal.deploy.executor import ApplyChanges, PreviewOnly, select_executor
from skaal.deploy.request import DeployRequest, deploy_request
from skaal.deploy.state import DeploymentRecord, DeploymentStore

__all__ = [
    "DELETE_DATA_CONFIG",
    "Applied",
    "ApplyChanges",
    "DeployRequest",
    "DeploymentRecord",
    "DeploymentStore",
    "Destroyer",
    "Engine",
    "Preview",
    "PreviewOnly",
    "StackRef",
    "StackResource",
    "deploy_request",
    "select_executor",
]
