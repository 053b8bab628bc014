"""What the Redis store tests build a provider and its stores from."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from skaal.blueprint.model import Requirements, ResourceSpec, SourceLocation
from skaal.runtime.ports import BackendSettings


def settings(env: dict[str, str], tmp_path: Path, clock: Any = time.time) -> BackendSettings:
    """A provider's settings: ``env`` as its environment, ``tmp_path`` as its folders."""
    return BackendSettings(
        app="redis-tests", data_dir=tmp_path, project_dir=tmp_path, env=env, clock=clock
    )


def spec(name: str, kind: Any = "map") -> ResourceSpec:
    """A resource declared with no requirements."""
    return ResourceSpec(
        name=name,
        kind=kind,
        requirements=Requirements(),
        location=SourceLocation(file="test.py", line=1),
    )
