"""The Lambda functions: the dependencies layer, each function's role, log group and code.

One Lambda per declared function and one for the HTTP API's default route
(docs, OpenAPI, mounted apps), each with its own role whose policy is the
function's statements of the stack model, every reference resolved to the
ARN created for it (:meth:`skaal.programs.aws.context.Deploy.arns`); the
statements past IAM's inline quota, when the build laid some out so, are in
customer managed policies attached to the role.  Its
environment is the model's, plus the variables filled with what the program
created (a bucket's real name, a server's URL, a credentials secret's ARN).
The code is the artifact's ``app/`` folder; its dependencies are the layer
``skaal deploy`` builds into ``layer/python``, published once per region
with functions.  A traced function adds the ADOT layer before it and X-Ray
active tracing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from skaal.builder.stacks.aws import ANY_RESOURCE, LAMBDA_RUNTIME, Function, Statement
from skaal.programs.aws.context import Deploy

__all__ = ["assume_role", "function", "layers", "policy_document", "subscription_queue"]


def assume_role(service: str) -> str:
    """The trust policy letting ``service`` (``lambda.amazonaws.com``...) assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
            ],
        }
    )


def policy_document(deploy: Deploy, statements: Sequence[Statement]) -> pulumi.Output[str]:
    """The policy of ``statements``, each resource reference resolved to its ARN."""
    parts = [_statement(deploy, s) for s in statements]
    return pulumi.Output.all(*parts).apply(
        lambda found: json.dumps({"Version": "2012-10-17", "Statement": found})
    )


def _statement(deploy: Deploy, statement: Statement) -> pulumi.Output[dict[str, object]]:
    resources: list[pulumi.Output[str]] = []
    for ref in statement.resources:
        if ref == ANY_RESOURCE:
            resources.append(pulumi.Output.from_input(ANY_RESOURCE))
        else:
            resources.extend(deploy.arns(ref))

    def document(arns: list[str]) -> dict[str, object]:
        return {
            "Sid": statement.sid,
            "Effect": "Allow",
            "Action": list(statement.actions),
            "Resource": sorted(arns),
        }

    return pulumi.Output.all(*resources).apply(document)


def layers(deploy: Deploy) -> dict[str, aws.lambda_.LayerVersion]:
    """The dependencies layer in each region with functions."""
    regions = sorted({f.region for f in deploy.stack.functions})
    return {
        region: aws.lambda_.LayerVersion(
            "dependencies" if region == deploy.stack.region else f"dependencies-{region}",
            layer_name=f"{deploy.stack.prefix}-dependencies",
            code=pulumi.FileArchive(str(deploy.folder / "layer")),
            compatible_runtimes=[LAMBDA_RUNTIME],
            opts=deploy.opts(region),
        )
        for region in regions
    }


def subscription_queue(deploy: Deploy, f: Function) -> None:
    """The queue a subscriber's topic delivers to, created before any function's policy names it."""
    if f.subscription is None:
        return
    sub = aws.sqs.Queue(
        f"{f.id}-sub-queue",
        name=f.subscription.name,
        sqs_managed_sse_enabled=True,
        visibility_timeout_seconds=f.subscription.visibility_timeout_s,
        opts=deploy.opts(f.region),
    )
    deploy.put(f.name, "sub_arn", sub.arn)
    deploy.subscriptions[f.name] = sub


def function(deploy: Deploy, f: Function, layer: aws.lambda_.LayerVersion) -> aws.lambda_.Function:
    """The Lambda of ``f`` with its log group, role and policy."""
    logs = aws.cloudwatch.LogGroup(
        f"{f.id}-logs",
        name=f"/aws/lambda/{f.lambda_name}",
        retention_in_days=deploy.stack.log_retention_days,
        opts=deploy.opts(f.region),
    )
    deploy.put(f.name, "log_arn", logs.arn)
    role = aws.iam.Role(
        f"{f.id}-role",
        name=f.role_name,
        assume_role_policy=assume_role("lambda.amazonaws.com"),
        opts=deploy.opts(f.region),
    )
    policy = aws.iam.RolePolicy(
        f"{f.id}-policy",
        role=role.id,
        policy=policy_document(deploy, f.statements),
        opts=deploy.opts(f.region),
    )
    granted: list[pulumi.Resource] = [policy]
    for number, statements in enumerate(f.managed_statements, start=1):
        # the statements past the inline policy's quota (skaal.builder.targets.aws_policies)
        managed = aws.iam.Policy(
            f"{f.id}-policy-{number}",
            name=f"{f.role_name}-{number}",
            policy=policy_document(deploy, statements),
            opts=deploy.opts(f.region),
        )
        granted.append(
            aws.iam.RolePolicyAttachment(
                f"{f.id}-policy-{number}-attachment",
                role=role.name,
                policy_arn=managed.arn,
                opts=deploy.opts(f.region),
            )
        )
    env: dict[str, pulumi.Input[str]] = dict(f.env)
    for variable, ref in f.outputs.items():
        env[variable] = deploy.output(ref)
    vpc_config: aws.lambda_.FunctionVpcConfigArgsDict | None = None
    if f.vpc and f.network is not None:
        net = deploy.networks[f.network]
        vpc_config = {"subnet_ids": list(net.subnet_ids), "security_group_ids": [net.lambda_sg]}
    traces = f.traces
    return aws.lambda_.Function(
        f.id,
        name=f.lambda_name,
        role=role.arn,
        runtime=LAMBDA_RUNTIME,
        architectures=["x86_64"],
        handler="skaal_lambda.handler",
        code=pulumi.FileArchive(str(deploy.folder / "app")),
        # ADOT first: where both ship a package, the pinned one of the app's layer wins
        layers=[traces.layer, layer.arn] if traces is not None else [layer.arn],
        tracing_config={"mode": traces.mode} if traces is not None else None,
        memory_size=f.memory_mb,
        timeout=f.timeout_s,
        environment={"variables": env},
        vpc_config=vpc_config,
        opts=deploy.opts(f.region, depends_on=[*granted, logs]),
    )
