"""Least-privilege IAM statements for each Lambda function of an aws build.

A statement here names the *logical* resource it applies to
(:class:`skaal.builder.stacks.aws.ArnRef`: ``ArnRef(ref="Results",
suffix="/index/*")``); the aws program (:mod:`skaal.programs.aws`) replaces
each reference with the ARN of the resource it created, so no statement is
ever written with a ``*`` resource or with an ARN of something the stack does
not own.

What each function may do:

* **the state resources it uses**, with the actions their kind needs and no
  more: tables (items), buckets (objects), queues (send only) and topics
  (publish only).  What it uses is its ``uses`` in the Blueprint -- the
  declared resources its code reaches (:mod:`skaal.declare.uses`), with the
  queue or topic it is triggered by; every resource when its code cannot be
  read.  The HTTP default route serves every HTTP function and mounted
  application, so it keeps the grant on every state resource of the app;
* **nothing on the other state resources**: the function's
  ``SKAAL_USED_RESOURCES`` names what it uses, and its runtime opens only
  those (:func:`skaal.plan.wiring.reached`).  Resources on a PostgreSQL or Redis server are
  reached over the network with the server's credentials: IAM cannot scope
  them per resource;
* **the secrets it may read** and no other: those it declares
  (``secrets=[...]``) and the app-wide ones no function declares
  (:class:`skaal.plan.wiring.SecretScope`; the runtime reads only these);
* **the credentials of the app's PostgreSQL servers**: each RDS-managed
  master secret (the runtime reads it to connect; the password is never in
  the function's environment);
* **the subscriptions of the app's topics**: the runtime makes sure every
  subscriber's queue is subscribed when it opens (``sns:Subscribe`` on the
  topic; finding the queue and setting its SNS-only policy);
* **its own trigger**: a queue consumer may receive, delete and extend the
  visibility of *its* queue's messages (and send to that queue's dead-letter
  queue); a topic subscriber the same on its own subscription queue;
* **its own log group** (create streams, put events);
* a function attached to the VPC (the app uses RDS or ElastiCache) gets the
  network-interface actions Lambda needs, scoped to the stack's subnets,
  security group and network interfaces -- except the two ``Describe``
  calls, which AWS only authorises on ``*``: that single read-only
  statement is the one exception, marked ``VpcDescribe``.
"""

from __future__ import annotations

from skaal.blueprint.model import ResourceSpec
from skaal.builder.stacks.aws import ANY_RESOURCE, ArnAttr, ArnRef, Statement
from skaal.plan.model import Binding
from skaal.plan.wiring import reached

__all__ = ["VPC_DESCRIBE_SID", "function_statements"]

VPC_DESCRIBE_SID = "VpcDescribe"

_DYNAMODB = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
_S3_OBJECTS = (
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
)
_S3_BUCKET = ("s3:ListBucket",)
_SQS_SEND = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage")
_SQS_CONSUME = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
)
_SQS_FIND = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl")
_SNS_SUBSCRIBE = ("sns:Subscribe",)
_SQS_SUBSCRIPTION = ("sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SetQueueAttributes")
_SNS_PUBLISH = ("sns:GetTopicAttributes", "sns:Publish")
_SECRETS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
_LOGS = ("logs:CreateLogStream", "logs:PutLogEvents")
_ENI = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
_ENI_DESCRIBE = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")


def _ref(name: str, suffix: str = "", attr: ArnAttr = "arn") -> ArnRef:
    return ArnRef(ref=name, attr=attr, suffix=suffix)


def _statement(sid: str, actions: tuple[str, ...], resources: list[ArnRef]) -> Statement:
    return Statement(sid=sid, actions=tuple(sorted(actions)), resources=tuple(resources))


def _sid(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in text.replace(".", "_").split("_"))


def function_statements(
    function: ResourceSpec,
    bindings: list[Binding],
    *,
    vpc: bool,
    indexed: frozenset[str] = frozenset(),
    subscribers: tuple[tuple[str, str], ...] = (),
    secrets: tuple[str, ...] = (),
    credentials: tuple[str, ...] = (),
    app_wide: bool = False,
    network: str = "network",
) -> tuple[Statement, ...]:
    """The statements of ``function``'s role, given every binding of the plan.

    ``app_wide`` grants the state resources of every binding (the HTTP
    default route), not only those ``function`` uses.  ``indexed`` names
    the tables with secondary indexes (their ``/index/*`` ARNs are granted
    too); ``subscribers`` lists the app's ``(topic,
    subscriber function)`` pairs; ``secrets`` the declared secrets it may
    read; ``credentials`` the program's keys of the servers whose
    credentials secret it reads; ``network`` the program's key of the VPC
    (of the function's region) it is attached to.
    """
    out: list[Statement] = []
    uses = set(reached(function))
    for binding in sorted(bindings, key=lambda b: b.resource):
        name = binding.resource
        sid = _sid(name)
        match binding.implementation:
            case "dynamodb" | "s3" | "sqs" | "sns" if not app_wide and name not in uses:
                continue  # never opened by this function (SKAAL_USED_RESOURCES)
            case "dynamodb":
                arns = [_ref(name), _ref(name, "/index/*")] if name in indexed else [_ref(name)]
                out.append(_statement(f"Table{sid}", _DYNAMODB, arns))
            case "s3":
                out.append(_statement(f"Bucket{sid}", _S3_BUCKET, [_ref(name)]))
                out.append(_statement(f"Objects{sid}", _S3_OBJECTS, [_ref(name, "/*")]))
            case "sqs":
                out.append(_statement(f"Send{sid}", _SQS_SEND, [_ref(name)]))
                out.append(_statement(f"Find{sid}", _SQS_FIND, [_ref(name, attr="dlq_arn")]))
            case "sns":
                out.append(_statement(f"Publish{sid}", _SNS_PUBLISH, [_ref(name)]))
            case "secrets-manager" if name in secrets:
                out.append(_statement(f"Secret{sid}", _SECRETS, [_ref(name)]))
            case _:
                continue
    for topic, subscriber in subscribers:
        if not app_wide and topic not in uses:
            continue
        # the runtime (re)subscribes every subscriber's queue when it opens the topic
        out.append(_statement(f"Subscribe{_sid(subscriber)}", _SNS_SUBSCRIBE, [_ref(topic)]))
        out.append(
            _statement(
                f"SubscriptionQueue{_sid(subscriber)}",
                _SQS_SUBSCRIPTION,
                [_ref(subscriber, attr="sub_arn")],
            )
        )
    if credentials:
        out.append(
            _statement(
                "DatabaseCredentials",
                _SECRETS,
                [_ref(server, attr="secret_arn") for server in credentials],
            )
        )
    if function.consumes is not None:
        queue = function.consumes
        out.append(_statement("Consume", _SQS_CONSUME, [_ref(queue)]))
        out.append(_statement("DeadLetter", ("sqs:SendMessage",), [_ref(queue, attr="dlq_arn")]))
    if function.subscribes is not None:
        out.append(_statement("Subscription", _SQS_CONSUME, [_ref(function.name, attr="sub_arn")]))
    out.append(
        _statement(
            "Logs",
            _LOGS,
            [_ref(function.name, attr="log_arn"), _ref(function.name, ":*", attr="log_arn")],
        )
    )
    if vpc:
        out.append(
            _statement(
                "VpcInterfaces",
                _ENI,
                [
                    _ref(network, attr="eni_arn"),
                    _ref(network, attr="subnet_arns"),
                    _ref(network, attr="lambda_sg_arn"),
                ],
            )
        )
        out.append(
            Statement(
                sid=VPC_DESCRIBE_SID,
                actions=tuple(sorted(_ENI_DESCRIBE)),
                resources=(ANY_RESOURCE,),
            )
        )
    return tuple(out)
