"""Skaal: infrastructure as constraints.

Declare what each piece of state and compute needs; Skaal plans the cheapest
backends that meet every constraint, builds deployable artifacts and runs the
same code locally and in the cloud.  See :mod:`skaal.pipeline` for the stages.

The packages form layers, each importing only from the layers below it
(lowest first: errors, model, blueprint, declare, registry, catalog, plan,
solver, pipeline and deploy, runtime and builder, serve, hosts, cli): the
stack and the rule are in ``docs/architecture.md``, and an import-linter
contract in ``pyproject.toml`` enforces them (``tests/test_layers.py``).

The errors and the version are imported eagerly (they are light); the
declaration API is imported on first use (module ``__getattr__``, PEP 562),
so ``import skaal`` and commands such as ``skaal --help`` do not pay for
the declaration machinery and the blueprint records until a declaration is needed.
"""

import importlib
from typing import TYPE_CHECKING

from skaal._version import __version__
from skaal.errors import (
    BuildError,
    CatalogError,
    DeclarationError,
    DeployError,
    MigrationError,
    PlanError,
    SkaalError,
    SkaalRuntimeError,
    UnsatisfiableError,
    UsageError,
)

if TYPE_CHECKING:
    from skaal.declare.app import App, Module
    from skaal.declare.resources import BlobStore, Collection, Index, Map, Queue, Secret, Topic
    from skaal.declare.schedule import Cron, Every
    from skaal.runtime.blocking import blocking

__all__ = [
    "App",
    "BlobStore",
    "BuildError",
    "CatalogError",
    "Collection",
    "Cron",
    "DeclarationError",
    "DeployError",
    "Every",
    "Index",
    "Map",
    "MigrationError",
    "Module",
    "PlanError",
    "Queue",
    "Secret",
    "SkaalError",
    "SkaalRuntimeError",
    "Topic",
    "UnsatisfiableError",
    "UsageError",
    "__version__",
    "blocking",
]

#: Lazily exported name → the module that defines it.
_LAZY = {
    "App": "skaal.declare.app",
    "Module": "skaal.declare.app",
    "BlobStore": "skaal.declare.resources",
    "Collection": "skaal.declare.resources",
    "Index": "skaal.declare.resources",
    "Map": "skaal.declare.resources",
    "Queue": "skaal.declare.resources",
    "Secret": "skaal.declare.resources",
    "Topic": "skaal.declare.resources",
    "Cron": "skaal.declare.schedule",
    "Every": "skaal.declare.schedule",
    "blocking": "skaal.runtime.blocking",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skaal' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
