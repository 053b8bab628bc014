"""The local program: read the stack model and the lock, record the app, export its outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from skaal.builder.stacks.base import read_stack
from skaal.builder.stacks.local import LocalStack
from skaal.errors import DeployError
from skaal.plan.lock import read_lock
from skaal.plan.model import Plan
from skaal.plan.wiring import DATA_DIR_ENV, wire

__all__ = ["APP_TYPE", "LocalApp", "load_plan", "run", "size_of"]

APP_TYPE = "skaal:local:App"
"""The Pulumi type of the one component the local stack records."""


class LocalApp(pulumi.ComponentResource):
    """The app served on this machine, with the environment it reads."""

    env: pulumi.Output[dict[str, str]]
    url: pulumi.Output[str]
    servers: pulumi.Output[dict[str, dict[str, Any]]]

    def __init__(
        self,
        name: str,
        *,
        env: dict[str, str],
        url: str,
        bindings: dict[str, str],
        servers: dict[str, dict[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {"env": env, "url": url, "bindings": bindings, "servers": servers}
        super().__init__(APP_TYPE, name, props, opts)
        self.env = pulumi.Output.from_input(env)
        self.url = pulumi.Output.from_input(url)
        self.servers = pulumi.Output.from_input(servers)
        self.register_outputs(props)


def size_of(plan: Plan, server_id: str) -> dict[str, Any]:
    """The size the plan records for a server (empty if it records none); a retiring one
    (keeping origins of pending moves only) as the previous plan sized it."""
    for instance in (*plan.instances, *plan.retiring):
        if instance.id == server_id:
            size: dict[str, Any] = {
                "class": instance.instance_class,
                "replicas": instance.replicas,
                "disk_gb": instance.disk_gb,
                "connections": instance.connections,
                "parameters": dict(instance.parameters),
            }
            return {key: value for key, value in size.items() if value is not None}
    return {}


def load_plan(path: Path, stack: LocalStack) -> Plan:
    """The lock the stack at ``path`` names, refused if it is not the one it was built for."""
    lock = (path.parent / stack.lock).resolve()
    plan = read_lock(lock)
    if plan is None:
        problem = "is missing"
    elif plan.content_hash() != stack.plan_hash:
        problem = f"holds plan {plan.content_hash()[:12]}, not {stack.plan_hash[:12]}"
    else:
        return plan
    raise DeployError(
        f"the shipped lock {problem}: it is not the lock this stack was built for",
        where=str(lock),
        fix="deploy the artifact as built, or build it again from the project's lock",
        command="skaal build --target local",
    )


def run(path: Path) -> dict[str, pulumi.Output[Any]]:
    """Record the stack the model at ``path`` describes (inside a Pulumi program).

    Returns the exported outputs by name: ``url``, ``env``, ``servers``,
    ``data_dir`` and ``plan_hash``.
    """
    stack = read_stack(path, LocalStack)
    plan = load_plan(path, stack)
    config = pulumi.Config()
    data_dir = config.get("dataDir") or stack.data_dir
    host = config.get("host") or stack.host
    port = config.get_int("port") or stack.port
    wiring = wire(plan, env_name=stack.env_name, config=stack.config)
    site = LocalApp(
        stack.app,
        env={**wiring.env(), DATA_DIR_ENV: data_dir},
        url=f"http://{host}:{port}",
        bindings={b.resource: b.implementation for b in plan.bindings},
        servers={
            s.id: {
                "env": s.env,
                "kind": s.implementation,
                "resources": list(s.holds),  # the origins of pending moves it keeps too
                "size": size_of(plan, s.id),
            }
            for s in wiring.servers
        },
    )
    outputs: dict[str, pulumi.Output[Any]] = {
        "url": site.url,
        "env": site.env,
        "servers": site.servers,
        "data_dir": pulumi.Output.from_input(data_dir),
        "plan_hash": pulumi.Output.from_input(stack.plan_hash),
    }
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
