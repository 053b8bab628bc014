"""What starts a function: the HTTP API's routes, queues, topic subscriptions, schedules.

* an HTTP API (in the stack's region) with the ``$default`` route to the
  ``_http`` function and one ``ANY /fn/<name>`` route per HTTP function;
* an SQS event source mapping per queue consumer;
* per topic subscriber, its subscription queue's SNS-only policy, the
  subscription (created in the topic's region) and the mapping of that queue;
* an EventBridge Scheduler schedule per schedule expression, with a role
  allowed to invoke that function only.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from skaal.builder.stacks.aws import Function
from skaal.programs.aws.context import Deploy
from skaal.programs.aws.functions import assume_role

__all__ = ["http_api", "triggers"]


def http_api(deploy: Deploy) -> aws.apigatewayv2.Api | None:
    """The HTTP API, when a function has a route; its URL is the stack's ``url`` output."""
    if not any(f.route for f in deploy.stack.functions):
        return None
    api = aws.apigatewayv2.Api(
        "http", name=deploy.stack.prefix, protocol_type="HTTP", opts=deploy.opts()
    )
    aws.apigatewayv2.Stage(
        "default", api_id=api.id, name="$default", auto_deploy=True, opts=deploy.opts()
    )
    pulumi.export("url", api.api_endpoint)
    return api


def triggers(
    deploy: Deploy, f: Function, created: aws.lambda_.Function, api: aws.apigatewayv2.Api | None
) -> None:
    """Everything that invokes ``created``, the Lambda of ``f``."""
    if f.route is not None and api is not None:
        _route(deploy, f, f.route, created, api)
    if f.consumes is not None:
        aws.lambda_.EventSourceMapping(
            f"{f.id}-queue",
            event_source_arn=deploy.arn(f.consumes),
            function_name=created.arn,
            batch_size=10,
            function_response_types=["ReportBatchItemFailures"],
            opts=deploy.opts(f.region),
        )
    if f.subscription is not None:
        _subscription(deploy, f, f.subscription.topic, created)
    if f.schedule is not None:
        _schedules(deploy, f, created)


def _route(
    deploy: Deploy,
    f: Function,
    route: str,
    created: aws.lambda_.Function,
    api: aws.apigatewayv2.Api,
) -> None:
    integration = aws.apigatewayv2.Integration(
        f"{f.id}-integration",
        api_id=api.id,
        integration_type="AWS_PROXY",
        integration_uri=created.arn,
        payload_format_version="2.0",
        opts=deploy.opts(),
    )
    aws.apigatewayv2.Route(
        f"{f.id}-route",
        api_id=api.id,
        route_key=route,
        target=pulumi.Output.concat("integrations/", integration.id),
        opts=deploy.opts(),
    )
    aws.lambda_.Permission(
        f"{f.id}-api",
        action="lambda:InvokeFunction",
        function=created.name,
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(api.execution_arn, "/*/*"),
        opts=deploy.opts(f.region),
    )


def _subscription(deploy: Deploy, f: Function, topic: str, created: aws.lambda_.Function) -> None:
    sub = deploy.subscriptions[f.name]
    topic_arn = deploy.arn(topic)

    def sns_only(arns: list[str]) -> str:
        queue_arn, source_arn = arns
        statement = {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": source_arn}},
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    aws.sqs.QueuePolicy(
        f"{f.id}-sub-policy",
        queue_url=sub.url,
        policy=pulumi.Output.all(sub.arn, topic_arn).apply(sns_only),
        opts=deploy.opts(f.region),
    )
    aws.sns.TopicSubscription(
        f"{f.id}-sub",
        topic=topic_arn,
        protocol="sqs",
        endpoint=sub.arn,
        raw_message_delivery=True,
        opts=deploy.opts(deploy.topic_regions[topic]),  # a subscription is the topic's
    )
    aws.lambda_.EventSourceMapping(
        f"{f.id}-sub-mapping",
        event_source_arn=sub.arn,
        function_name=created.arn,
        batch_size=10,
        function_response_types=["ReportBatchItemFailures"],
        opts=deploy.opts(f.region),
    )


def _schedules(deploy: Deploy, f: Function, created: aws.lambda_.Function) -> None:
    if f.schedule is None:
        return
    role = aws.iam.Role(
        f"{f.id}-scheduler",
        assume_role_policy=assume_role("scheduler.amazonaws.com"),
        opts=deploy.opts(f.region),
    )

    def invoke_only(arn: str) -> str:
        statement = {
            "Sid": "Invoke",
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": [arn],
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    aws.iam.RolePolicy(
        f"{f.id}-scheduler-policy",
        role=role.id,
        policy=created.arn.apply(invoke_only),
        opts=deploy.opts(f.region),
    )
    for i, entry in enumerate(f.schedule.entries):
        aws.scheduler.Schedule(
            f"{f.id}-schedule" + (f"-{i + 1}" if i else ""),
            name=entry.name,
            schedule_expression=entry.expression,
            schedule_expression_timezone=f.schedule.timezone,
            flexible_time_window={"mode": "OFF"},
            target={
                "arn": created.arn,
                "role_arn": role.arn,
                "input": json.dumps({"skaal_schedule": f.name}),
                "retry_policy": {"maximum_retry_attempts": 2},
            },
            opts=deploy.opts(f.region),
        )
