"""Stage 2 of the pipeline: the Blueprint, pure data recorded from declarations."""

from skaal.blueprint.model import (
    KINDS,
    Blueprint,
    Kind,
    MountSpec,
    Requirements,
    ResourceSpec,
    ScheduleSpec,
    SourceLocation,
)

__all__ = [
    "KINDS",
    "Blueprint",
    "Kind",
    "MountSpec",
    "Requirements",
    "ResourceSpec",
    "ScheduleSpec",
    "SourceLocation",
]
