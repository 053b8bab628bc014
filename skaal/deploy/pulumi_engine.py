"""The real deploy engine: Pulumi's Automation API on a built artifact folder.

The Automation API drives the ``pulumi`` CLI, which pip cannot install.
:func:`require_pulumi_cli` checks for it twice before anything runs: on
``PATH`` (``shutil.which``) and through the Automation API's own probe
(``PulumiCommand()``, which runs ``pulumi version``), and turns either
failure into a :class:`~skaal.errors.DeployError` that says how to install
it.  Every Automation API error is wrapped the same way at this boundary.

The workspace is a ``LocalWorkspace`` on ``artifacts/<target>/`` (the
generated ``Pulumi.yaml`` is the project); the state backend URL is passed
as ``PULUMI_BACKEND_URL`` so the default local file backend never touches a
global login.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from skaal.deploy.engine import Applied, OnOutput, Preview, StackRef, StackResource
from skaal.errors import DeployError

if TYPE_CHECKING:
    from pulumi import automation

__all__ = ["INSTALL_HINT", "PulumiEngine", "require_pulumi_cli", "stack_resources"]

_T = TypeVar("_T")

INSTALL_HINT = (
    "install the Pulumi CLI (curl -fsSL https://get.pulumi.com | sh, or brew install pulumi, "
    "see https://www.pulumi.com/docs/install/) and make sure `pulumi` is on PATH"
)


def require_pulumi_cli(
    *,
    which: Callable[[str], str | None] = shutil.which,
    probe: Callable[[], object] | None = None,
) -> None:
    """Raise a :class:`DeployError` unless the pulumi CLI and Automation API are usable."""
    if which("pulumi") is None:
        raise DeployError(
            "the pulumi CLI is not installed (no `pulumi` on PATH); "
            "skaal deploy runs the built program through it",
            fix=INSTALL_HINT,
            command="pulumi version",
        )
    try:
        (probe or _automation_probe)()
    except ImportError:
        raise DeployError(
            "the Pulumi Python SDK is not installed",
            fix="pip install 'skaal[deploy]'",
        ) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise DeployError(
            f"the Pulumi Automation API cannot use the pulumi CLI: {exc}",
            fix=INSTALL_HINT,
            command="pulumi version",
        ) from None


def _automation_probe() -> object:
    from pulumi import automation

    return automation.PulumiCommand()


class PulumiEngine:
    """:class:`~skaal.deploy.engine.Engine` over ``pulumi.automation``."""

    def __init__(self, *, env: Mapping[str, str] | None = None) -> None:
        require_pulumi_cli()
        self._env = dict(env or {})

    def _stack(self, ref: StackRef) -> automation.Stack:
        from pulumi import automation

        opts = automation.LocalWorkspaceOptions(
            work_dir=str(ref.work_dir),
            env_vars={**self._env, "PULUMI_BACKEND_URL": ref.backend_url},
        )
        return _wrap(
            lambda: automation.create_or_select_stack(
                stack_name=ref.stack, work_dir=str(ref.work_dir), opts=opts
            ),
            ref,
        )

    def _configure(self, stack: automation.Stack, config: Mapping[str, str]) -> None:
        from pulumi import automation

        for key, value in sorted(config.items()):
            stack.set_config(key, automation.ConfigValue(value=value))

    def preview(self, ref: StackRef, *, config: Mapping[str, str], on_output: OnOutput) -> Preview:
        stack = self._stack(ref)
        self._configure(stack, config)
        result = _wrap(lambda: stack.preview(on_output=on_output), ref)
        return Preview(changes={_op(k): int(v) for k, v in result.change_summary.items()})

    def up(self, ref: StackRef, *, config: Mapping[str, str], on_output: OnOutput) -> Applied:
        stack = self._stack(ref)
        self._configure(stack, config)
        result = _wrap(lambda: stack.up(on_output=on_output), ref)
        changes = result.summary.resource_changes or {}
        return Applied(
            changes={str(k): int(v) for k, v in changes.items()},
            outputs={k: _text(v.value) for k, v in result.outputs.items()},
        )

    def resources(self, ref: StackRef) -> tuple[StackResource, ...]:
        stack = self._stack(ref)
        return stack_resources(_wrap(stack.export_stack, ref).deployment or {})

    def destroy(self, ref: StackRef, *, on_output: OnOutput) -> Mapping[str, int]:
        stack = self._stack(ref)
        result = _wrap(lambda: stack.destroy(on_output=on_output), ref)
        return {str(k): int(v) for k, v in (result.summary.resource_changes or {}).items()}


def stack_resources(deployment: Mapping[str, Any]) -> tuple[StackResource, ...]:
    """The resources of an exported deployment (its ``resources``), Pulumi's own left out.

    A resource read with ``Resource.get`` (an adopted table or bucket) is
    marked ``external`` in the state.
    """
    return tuple(
        StackResource(
            urn=str(item.get("urn", "")),
            type=str(item.get("type", "")),
            protected=bool(item.get("protect", False)),
            retained=bool(item.get("retainOnDelete", False)),
            external=bool(item.get("external", False)),
        )
        for item in deployment.get("resources", ())
        if not str(item.get("type", "")).startswith("pulumi:")
    )


def _op(kind: Any) -> str:
    """``OpType.CREATE`` -> ``"create"`` (preview summaries are keyed by the enum)."""
    return str(getattr(kind, "value", kind))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _wrap(call: Callable[[], _T], ref: StackRef) -> _T:
    from pulumi import automation

    try:
        return call()
    except automation.CommandError as exc:
        raise DeployError(
            f"pulumi failed on stack {ref.stack!r}: {exc}",
            where=str(ref.work_dir),
            fix="read the engine output above; fix the program's stack config and retry",
        ) from None
