"""The gcp program: read the stack model, install the hooks, create every part in order."""

from __future__ import annotations

from pathlib import Path

import pulumi

from skaal.builder.stacks.base import read_stack
from skaal.builder.stacks.gcp import GcpStack
from skaal.overrides import OVERRIDES_FILE, install
from skaal.programs.gcp import messaging, servers, services, state
from skaal.programs.gcp.context import Deploy

__all__ = ["run"]


def run(path: Path) -> None:
    """Create the stack the model at ``path`` describes (inside a Pulumi program)."""
    stack = read_stack(path, GcpStack)
    if stack.overrides is not None:
        # the project's hooks, installed before any resource exists
        install(path.parent / OVERRIDES_FILE, stack.overrides)
    deploy = Deploy(stack)
    deploy.create_accounts()
    state.create(deploy)
    messaging.create_topics(deploy)
    messaging.create_adopted_queues(deploy)
    messaging.create_subscriptions(deploy, pushed=False)
    servers.create(deploy)
    services.create_services(deploy)
    services.create_gateway(deploy)
    messaging.create_subscriptions(deploy, pushed=True)
    services.create_schedules(deploy)
    pulumi.export("region", stack.region)
