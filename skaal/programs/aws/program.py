"""The aws program from start to end: read the stack model, create it in order.

Order matters only for references: the state resources, then the networks,
then the servers in them; the layers and the HTTP API; the subscribers'
queues (a function's policy may name another's); then each function and
what triggers it.  The stack exports the HTTP API's ``url``, each table's,
queue's and topic's name and each bucket's real name.
"""

from __future__ import annotations

from pathlib import Path

import pulumi

from skaal.builder.stacks.aws import LAYER_COMMAND, AwsStack, OutputRef, Queue, Table, Topic
from skaal.builder.stacks.base import read_stack
from skaal.errors import DeployError
from skaal.overrides import install
from skaal.programs.aws import data, functions, network, servers, triggers
from skaal.programs.aws.context import Deploy

__all__ = ["run"]


def run(stack_path: Path) -> None:
    """Create the stack written at ``stack_path`` (an artifact's ``stack.json``)."""
    folder = stack_path.resolve().parent
    stack = read_stack(stack_path, AwsStack)
    check_layer(folder)
    if stack.overrides is not None:  # the project's hooks (skaal.overrides), before any resource
        install(folder / stack.overrides.module, stack.overrides.resources)
    deploy = Deploy.of(stack, folder)
    for table in stack.tables:
        data.table(deploy, table)
    for bucket in stack.buckets:
        data.bucket(deploy, bucket)
    for queue in stack.queues:
        data.queue(deploy, queue)
    for topic in stack.topics:
        data.topic(deploy, topic)
    for secret in stack.secrets:
        data.secret(deploy, secret)
    for net in stack.networks:
        network.network(deploy, net)
    for database in stack.databases:
        servers.database(deploy, database)
    for cache in stack.caches:
        servers.cache(deploy, cache)
    for adopted in stack.adopted_databases:
        servers.adopted_database(deploy, adopted)
    layers = functions.layers(deploy)
    api = triggers.http_api(deploy)
    for function in stack.functions:
        functions.subscription_queue(deploy, function)
    for function in stack.functions:
        created = functions.function(deploy, function, layers[function.region])
        triggers.triggers(deploy, function, created, api)
    named: tuple[Table | Queue | Topic, ...] = (*stack.tables, *stack.queues, *stack.topics)
    for item in named:
        pulumi.export(item.resource, item.name)
    for bucket in stack.buckets:
        pulumi.export(bucket.resource, deploy.output(OutputRef(ref=bucket.resource, attr="bucket")))


def check_layer(folder: Path) -> None:
    """Refuse to run without the dependencies layer ``skaal deploy`` builds."""
    if not (folder / "layer" / "python").is_dir():
        raise DeployError(
            "layer/python is missing: the functions' dependencies are not built",
            where=str(folder),
            fix=f"run `skaal deploy --target aws`, which builds it, or build it in this folder "
            f"with: {LAYER_COMMAND}",
            command="skaal deploy --target aws",
        )
