"""The Plan (pure data) and its lock file."""

from skaal.plan.model import Binding, CostLine, Plan, SharedInstance, UsedPrice

__all__ = ["Binding", "CostLine", "Plan", "SharedInstance", "UsedPrice"]
