"""Adopting existing resources per environment: ``[tool.skaal.envs.NAME.existing]``.

``existing=`` in the code adopts the same table or bucket in every
environment.  A team usually adopts prod's legacy table in prod only, and
lets dev create its own; so the configuration may adopt too::

    [tool.skaal.envs.prod.existing]
    Carts = "arn:aws:dynamodb:us-east-1:123456789012:table/legacy-carts"
    Uploads = "legacy-uploads"

    [tool.skaal.existing]          # the project without environments
    Carts = "legacy-carts"

Each line names a declared resource and, in the forms ``existing=`` accepts
(:mod:`skaal.declare.existing`), what it adopts.  The selected
environment's table applies; ``[tool.skaal.existing]`` applies only when no
environment is selected (an environment does not inherit it).

The entries reach the solver beside the Blueprint, the way ``--pin`` does
(:func:`skaal.pipeline.plan_blueprint` ``existing=``): the Blueprint and its
hash stay those of the code, the plan's binding is marked adopted exactly
as with ``existing=`` (so the lock's hash changes with the entry), and the
binding's reason says where the adoption comes from.

**The configuration wins** over ``existing=`` in the code for the same
resource: the environment's entry is the more specific one, and the
binding's reason names the code's value it replaced.

:func:`adoptions` checks the entries against the app and the plan's
provider before anything is planned; every mistake is a
:class:`~skaal.errors.UsageError` naming the ``pyproject.toml`` line: an
unknown resource (with "did you mean"), a form the resource's kind cannot
adopt, an ARN or URL of another provider than the plan's.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from skaal.declare.existing import parse_existing, shown
from skaal.errors import UsageError, did_you_mean
from skaal.model.grammar import GrammarError

if TYPE_CHECKING:
    from skaal.blueprint.model import Blueprint
    from skaal.envs.config import Environment, Project

__all__ = ["adoptions", "configured_existing"]


def configured_existing(project: Project, env: Environment | None) -> tuple[Mapping[str, str], str]:
    """The adoptions that apply, and ``(pyproject:line table)`` saying where they are written."""
    if env is not None:
        return env.existing, f"{env.existing_where} [tool.skaal.envs.{env.name}.existing]"
    return project.existing, f"{project.existing_where} [tool.skaal.existing]"


def adoptions(
    project: Project, env: Environment | None, blueprint: Blueprint, provider: str
) -> Mapping[str, str]:
    """The configured adoptions of ``env`` (or of the project), checked against the app.

    ``provider`` is the plan's (the catalog's); on ``local`` nothing exists to
    adopt, and the entries are recorded as unchecked, as ``existing=`` is.
    """
    entries, where = configured_existing(project, env)
    specs = {spec.name: spec for spec in blueprint.resources}
    for name, value in sorted(entries.items()):
        spec = specs.get(name)
        if spec is None:
            declared = sorted(specs)
            raise UsageError(
                f"existing names {name!r}, which {blueprint.app} does not declare"
                f"{did_you_mean(name, declared)}",
                where=f"{where} {name}",
                fix=f"name a declared resource ({', '.join(declared) or 'none'}), or remove "
                "the line",
            )
        try:
            found = parse_existing(value, spec.kind)
        except GrammarError as exc:
            raise UsageError(
                f"{name} (a {spec.kind}) cannot adopt {shown(value)}: {exc.message}",
                where=f"{where} {name}",
                fix=f"accepted: {exc.accepted}",
            ) from None
        if provider != "local" and found.provider not in (None, provider):
            raise UsageError(
                f"{name} adopts {value!r}, a resource on {found.provider}, but this plan is "
                f"for {provider}",
                where=f"{where} {name}",
                fix=f"adopt a resource on {provider} here (or a plain name), or plan this "
                f"environment for {found.provider}",
            )
    return MappingProxyType(dict(entries))
