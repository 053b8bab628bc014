"""Skaal: infrastructure as constraints.

Declare what each piece of state and compute needs; Skaal plans the cheapest
backends that meet every constraint, builds deployable artifacts and runs the
same code locally and in the cloud.  See :mod:`skaal.pipeline` for the stages.
"""

from skaal._version import __version__
from skaal.declare.app import App, Module
from skaal.declare.resources import BlobStore, Collection, Index, Map, Queue, Secret, Topic
from skaal.declare.schedule import Cron, Every
from skaal.errors import (
    BuildError,
    CatalogError,
    DeclarationError,
    DeployError,
    PlanError,
    SkaalError,
    SkaalRuntimeError,
    UnsatisfiableError,
    UsageError,
)

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
]
