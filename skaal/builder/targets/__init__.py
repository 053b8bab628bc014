"""The build targets: one pure function ``BuildContext -> ArtifactSet`` per target.

Dispatch is this explicit mapping from target name to ``"module:function"``;
a target's module is imported only when that target is built, so building
``local`` never imports the cloud generators.  :func:`get_target` fails with
the known names (and a "did you mean") for an unknown one.

Each target module owns its generated files; the shared pieces live next door:
:mod:`skaal.plan.wiring` (env vars and physical names the runtime reads),
:mod:`skaal.builder.requirements` (pinned ``requirements.txt``) and
:mod:`skaal.builder.dockerfile`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

from skaal.builder.model import ArtifactSet, BuildContext
from skaal.errors import UsageError, did_you_mean

__all__ = ["TARGETS", "Target", "get_target"]

Target = Callable[[BuildContext], ArtifactSet]

_TARGET_REFS: dict[str, str] = {
    "local": "skaal.builder.targets.local:build_local",
    # Cloud targets register here, one line each:
    "aws": "skaal.builder.targets.aws:build_aws",
    "gcp": "skaal.builder.targets.gcp:build_gcp",
}


class _LazyTargets(Mapping[str, Target]):
    """``TARGETS[name]`` imports the target's module on first use."""

    def __init__(self, refs: Mapping[str, str]) -> None:
        self._refs = MappingProxyType(dict(refs))

    def __getitem__(self, name: str) -> Target:
        module_name, _, attr = self._refs[name].partition(":")
        builder: Target = getattr(importlib.import_module(module_name), attr)
        return builder

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._refs))

    def __len__(self) -> int:
        return len(self._refs)


TARGETS: Mapping[str, Target] = _LazyTargets(_TARGET_REFS)


def get_target(name: str) -> Target:
    """The builder of target ``name``; a :class:`UsageError` listing the known ones."""
    if name not in TARGETS:
        raise UsageError(
            f"unknown build target {name!r}{did_you_mean(name, TARGETS)}",
            where="--target",
            fix=f"choose one of: {', '.join(TARGETS)}",
        )
    return TARGETS[name]
