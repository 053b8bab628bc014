"""Plans for the tests of :mod:`skaal.plan`: one app, one catalog, fixed hashes."""

from __future__ import annotations

from typing import Any

from skaal.plan.model import Binding, Plan


def plan_of(*bindings: Binding, **fields: Any) -> Plan:
    """A Plan of app ``shop`` on catalog ``aws`` in us-east-1 with ``bindings`` and
    ``fields`` (``total_monthly_cost`` at least), its hashes fixed placeholders."""
    return Plan(
        app="shop",
        catalog="aws",
        provider="aws",
        region="us-east-1",
        blueprint_hash="b" * 64,
        catalog_hash="c" * 64,
        bindings=bindings,
        **fields,
    )
