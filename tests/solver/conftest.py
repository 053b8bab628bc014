"""Fixtures for the feasibility, cost and diagnosis tests: plan an ``App`` against backends."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import pytest

from skaal import App
from skaal.catalog.model import Backend, Provider
from skaal.registry import DEFAULT_REGISTRY, Registry
from skaal.solver.feasibility import build_problem
from skaal.solver.problem import Problem, ResourceOptions
from skaal.testing import catalog


class Filter(Protocol):
    def __call__(
        self,
        app: App,
        *backends: Backend,
        provider: Provider = ...,
        pins: Mapping[str, str] = ...,
        registry: Registry = ...,
    ) -> Problem: ...


@pytest.fixture
def problem_of() -> Filter:
    """``problem_of(app, backend(...), ..., provider="aws")``: the filtered Problem."""

    def run(
        app: App,
        *backends: Backend,
        provider: Provider = "aws",
        pins: Mapping[str, str] | None = None,
        registry: Registry = DEFAULT_REGISTRY,
    ) -> Problem:
        cat = catalog(provider=provider, backends=backends)
        return build_problem(app.blueprint(), cat, registry=registry, pins=pins or {})

    return run


def failures(options: ResourceOptions) -> dict[str, tuple[str, ...]]:
    """Backend -> failed constraint names; a feasible backend maps to ()."""
    out = {name: tuple(r.constraint for r in rejected) for name, rejected in options.rejections}
    out.update({option.backend: () for option in options.options})
    return out


@pytest.fixture
def verdicts(problem_of: Filter) -> Callable[..., dict[str, tuple[str, ...]]]:
    """``verdicts(app, *backends)``: for the app's only resource, backend -> failed checks."""

    def run(app: App, *backends: Backend, **kwargs: object) -> dict[str, tuple[str, ...]]:
        problem = problem_of(app, *backends, **kwargs)  # type: ignore[arg-type]
        (only,) = [r for r in problem.resources if r.spec.kind != "secret"]
        return failures(only)

    return run
