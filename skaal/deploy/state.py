"""What was deployed where: one JSON record per (target, stack).

After a successful ``skaal deploy`` the :class:`DeploymentStore` writes
``.skaal/deployments/<target>-<stack>.json``: the app, the plan and build
hashes the artifacts were made from, the state backend URL, the stack
outputs (service URLs, bucket names) and when it happened.  The file is
written atomically (a temporary file in the same folder, flushed, then
``os.replace``), so a crash never leaves half a record.  ``skaal destroy``
removes it.  A dry run writes nothing.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from msgspec import Struct, field
from msgspec.structs import asdict, force_setattr

from skaal.errors import DeployError

__all__ = ["DEPLOYMENTS_DIR", "DeploymentRecord", "DeploymentStore"]

DEPLOYMENTS_DIR = ".skaal/deployments"
_SCHEMA_VERSION = 1


class DeploymentRecord(Struct, frozen=True):
    """One successful deploy of one target's artifacts to one stack."""

    target: str
    stack: str
    app: str
    plan_hash: str
    skaal_version: str
    backend_url: str
    deployed_at: str
    """UTC time in ISO 8601, from the injected clock."""
    outputs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        force_setattr(self, "outputs", MappingProxyType(dict(sorted(self.outputs.items()))))

    def to_json(self) -> str:
        data: dict[str, Any] = asdict(self)
        data["outputs"] = dict(self.outputs)
        data["schema_version"] = _SCHEMA_VERSION
        return json.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, where: str) -> DeploymentRecord:
        try:
            data = json.loads(text)
            data.pop("schema_version", None)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise DeployError(
                f"the deployment record is not valid: {exc}",
                where=where,
                fix="delete the file; the next skaal deploy writes it again",
            ) from None


class DeploymentStore:
    """Deployment records under ``<project>/.skaal/deployments/``."""

    def __init__(self, project_dir: Path) -> None:
        self.folder = project_dir / DEPLOYMENTS_DIR

    def path(self, target: str, stack: str) -> Path:
        return self.folder / f"{target}-{stack}.json"

    def write(self, record: DeploymentRecord) -> Path:
        """Write ``record`` atomically; the path written."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(record.target, record.stack)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(record.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def read(self, target: str, stack: str) -> DeploymentRecord | None:
        path = self.path(target, stack)
        if not path.is_file():
            return None
        return DeploymentRecord.from_json(path.read_text(encoding="utf-8"), where=str(path))

    def remove(self, target: str, stack: str) -> bool:
        """Delete the record; ``True`` if there was one."""
        path = self.path(target, stack)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        return existed
