"""Builders: from a plan to the files that deploy it.

Pure text generation from (Blueprint, Plan) to an :class:`ArtifactSet`; only
:mod:`skaal.builder.writer` touches the disk.  Modules, in the order a build
uses them:

* :mod:`~skaal.builder.inputs` -- import the app, read the lock, refuse a
  missing, stale or other-provider lock, give a :class:`BuildContext`;
* :mod:`~skaal.builder.targets` -- the target builders (``local``, ``aws``,
  ``gcp``), dispatched by name;
* shared by the targets: :mod:`~skaal.plan.wiring` (names and variables,
  shared with the runtime), :mod:`~skaal.builder.sizing` (each server's and
  table's size, read from the plan), :mod:`~skaal.builder.requirements`,
  :mod:`~skaal.builder.dockerfile`, :mod:`~skaal.builder.sources`;
* :mod:`~skaal.builder.writer` -- write ``<out>/<target>/`` atomically with its
  ``manifest.json``, or only list it (:class:`DryRunWriter`);
* the running half of each artifact is a host (:mod:`skaal.hosts`).
"""

from __future__ import annotations

from skaal.builder.model import Artifact, ArtifactSet, BuildContext
from skaal.builder.targets import TARGETS, get_target

__all__ = ["TARGETS", "Artifact", "ArtifactSet", "BuildContext", "build_artifacts"]


def build_artifacts(context: BuildContext) -> ArtifactSet:
    """The artifact set of ``context.target`` (a ``UsageError`` for an unknown target)."""
    return get_target(context.target)(context)
