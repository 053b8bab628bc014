"""Builders: from a plan to the files that deploy it.

Pure text generation from (Blueprint, Plan) to an :class:`ArtifactSet`; only
:mod:`skaal.build.writer` touches the disk.  Modules, in the order a build
uses them:

* :mod:`~skaal.build.inputs` -- import the app, read the lock, refuse a
  missing, stale or other-provider lock, give a :class:`BuildContext`;
* :mod:`~skaal.build.targets` -- the target builders (``local``, ``aws``,
  ``gcp``), dispatched by name;
* shared by the targets: :mod:`~skaal.plan.wiring` (names and variables,
  shared with the runtime), :mod:`~skaal.build.sizing` (each server's and
  table's size, read from the plan), :mod:`~skaal.build.requirements`,
  :mod:`~skaal.build.dockerfile`, :mod:`~skaal.build.sources`;
* :mod:`~skaal.build.writer` -- write ``<out>/<target>/`` atomically with its
  ``manifest.json``, or only list it (:class:`DryRunWriter`);
* :mod:`~skaal.build.launch` -- the running half of the local artifact.
"""

from __future__ import annotations

from skaal.build.model import Artifact, ArtifactSet, BuildContext
from skaal.build.targets import TARGETS, get_target

__all__ = ["TARGETS", "Artifact", "ArtifactSet", "BuildContext", "build_artifacts"]


def build_artifacts(context: BuildContext) -> ArtifactSet:
    """The artifact set of ``context.target`` (a ``UsageError`` for an unknown target)."""
    return get_target(context.target)(context)
