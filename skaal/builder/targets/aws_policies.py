"""Each Lambda role's statements, laid out within IAM's policy size quotas.

IAM counts the inline policies of a role together, at most 10,240
characters, and a customer managed policy at most 6,144 (whitespace is not
counted); a role has at most 10 managed policies attached, 20 on request
(:data:`QUOTAS_SOURCE`).  :mod:`.aws_iam` writes a statement per resource a
function reaches, about 350 characters for a table: a function reaching a
few dozen tables (the HTTP default route reaches every resource of the app)
would pass the inline quota, and its deploy would fail.

When the statements fit the role's inline policy as they are, nothing
changes.  Otherwise the statements with the same actions become one, listing
the resources of each in order: the same grants, each action written once.
They then fill, in order, the inline policy and as many managed policies as
they need, one after the other, a statement split by its resources where a
policy ends.  Nothing is granted that was not, and nothing on ``*``
that was not.  A role needing more managed policies than IAM attaches is a
:class:`~skaal.errors.BuildError` with the figures.

Each ARN is counted at an upper bound of its length, known when the stack
model is: the resource's name is the model's, an account id has 12 digits,
the partition is the region's, a bucket's name at most 63 characters.  A
policy laid out here is never longer than counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

from skaal.builder.stacks.aws import (
    ANY_RESOURCE,
    ArnRef,
    AwsStack,
    Function,
    Statement,
)
from skaal.errors import BuildError

__all__ = [
    "INLINE_POLICY_CHARS",
    "MANAGED_POLICIES_PER_ROLE",
    "MANAGED_POLICY_CHARS",
    "QUOTAS_SOURCE",
    "arn_bounds",
    "document_chars",
    "laid_out",
]

INLINE_POLICY_CHARS = 10_240
"""The most characters of a role's inline policies together (whitespace not counted)."""
MANAGED_POLICY_CHARS = 6_144
"""The most characters of one customer managed policy (whitespace not counted)."""
MANAGED_POLICIES_PER_ROLE = 10
"""The managed policies IAM attaches to one role by default (20 on request)."""
QUOTAS_SOURCE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html"

_ACCOUNT = 12
_BUCKET_NAME = 63
_SECRET_SUFFIX = len("-AbCdEf")  # the six characters Secrets Manager appends to a name
_RDS_SECRET = len("rds!db-") + 36  # an RDS-managed master secret: rds!db-<uuid>
_EC2_ID = 21  # subnet-0123456789abcdef0, sg-0123456789abcdef0 (17 hex digits)
_UNKNOWN = 512  # a reference this module cannot size: more than any ARN it writes

_DOCUMENT = len('{"Version":"2012-10-17","Statement":[]}')
_STATEMENT = len('{"Sid":"","Effect":"Allow","Action":[],"Resource":[]}')

Resource = ArnRef | Literal["*"]

Bounds = Callable[[ArnRef], tuple[int, ...]]
"""The most characters of each ARN a reference resolves to (its suffix included)."""


def _partition(region: str) -> int:
    """The length of the partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("us-gov-"):
        return len("aws-us-gov")
    return len("aws-cn") if region.startswith("cn-") else len("aws")


def _head(service: str, region: str) -> int:
    """``arn:<partition>:<service>:<region>:<account>:``."""
    return len("arn:") + _partition(region) + 1 + len(service) + 1 + len(region) + 1 + _ACCOUNT + 1


def arn_bounds(stack: AwsStack) -> Bounds:
    """The length bounds of the ARNs the references of ``stack``'s statements name."""
    known: dict[tuple[str, str], tuple[int, ...]] = {}
    for t in stack.tables:
        known[t.resource, "arn"] = (
            _head("dynamodb", t.region) + len("table/") + len(t.existing or t.name),
        )
    for b in stack.buckets:
        name = len(b.existing) if b.existing is not None else _BUCKET_NAME
        known[b.resource, "arn"] = (len("arn:") + _partition(b.region) + len(":s3:::") + name,)
    for q in stack.queues:
        adopted = q.existing_url or q.existing
        name = len(adopted) if adopted is not None else len(q.name)
        known[q.resource, "arn"] = (_head("sqs", q.region) + name,)
        known[q.resource, "dlq_arn"] = (_head("sqs", q.region) + max(name, len(q.dlq_name)),)
    for topic in stack.topics:
        adopted = topic.existing_arn or topic.existing
        name = len(adopted) if adopted is not None else len(topic.name)
        known[topic.resource, "arn"] = (_head("sns", topic.region) + name,)
    for s in stack.secrets:
        secret = len("secret:") + len(s.name) + _SECRET_SUFFIX
        known[s.resource, "arn"] = (_head("secretsmanager", s.region) + secret,)
    for d in stack.databases:
        secret = len("secret:") + _RDS_SECRET + _SECRET_SUFFIX
        known[d.id, "secret_arn"] = (_head("secretsmanager", d.region) + secret,)
    for n in stack.networks:
        known[n.ref, "eni_arn"] = (_head("ec2", n.region) + len("network-interface/*"),)
        subnet = _head("ec2", n.region) + len("subnet/") + _EC2_ID
        known[n.ref, "subnet_arns"] = (subnet,) * len(n.subnets)
        known[n.ref, "lambda_sg_arn"] = (_head("ec2", n.region) + len("security-group/") + _EC2_ID,)
    for f in stack.functions:
        group = len("log-group:/aws/lambda/") + len(f.lambda_name)
        known[f.name, "log_arn"] = (_head("logs", f.region) + group,)
        if f.subscription is not None:
            known[f.name, "sub_arn"] = (_head("sqs", f.region) + len(f.subscription.name),)

    def bounds(ref: ArnRef) -> tuple[int, ...]:
        found = known.get((ref.ref, ref.attr), (_UNKNOWN,))
        return tuple(length + len(ref.suffix) for length in found)

    return bounds


def _statement_chars(statement: Statement, bounds: Bounds) -> int:
    actions = [len(a) + 2 for a in statement.actions]
    arns = [
        length
        for ref in statement.resources
        for length in ((len(ANY_RESOURCE),) if ref == ANY_RESOURCE else bounds(ref))
    ]
    listed = sum(actions) + max(0, len(actions) - 1) + sum(a + 2 for a in arns)
    return _STATEMENT + len(statement.sid) + listed + max(0, len(arns) - 1)


def document_chars(statements: Sequence[Statement], bounds: Bounds) -> int:
    """The most characters the policy of ``statements`` has, whitespace not counted."""
    inner = sum(_statement_chars(s, bounds) for s in statements)
    return _DOCUMENT + inner + max(0, len(statements) - 1)


def laid_out(stack: AwsStack) -> AwsStack:
    """``stack`` with each function's statements within its role's policy quotas."""
    bounds = arn_bounds(stack)
    return stack.model_copy(
        update={"functions": tuple(_laid_out(f, bounds) for f in stack.functions)}
    )


def _laid_out(function: Function, bounds: Bounds) -> Function:
    if document_chars(function.statements, bounds) <= INLINE_POLICY_CHARS:
        return function
    policies = _filled(_merged(function.statements), bounds, function)
    managed = tuple(tuple(p) for p in policies[1:])
    if len(managed) > MANAGED_POLICIES_PER_ROLE:
        total = document_chars(function.statements, bounds)
        raise BuildError(
            f"its role needs {len(managed)} managed IAM policies beside "
            f"its inline one (its statements come to {total:,} characters at most), and IAM "
            f"attaches {MANAGED_POLICIES_PER_ROLE} to a role by default ({QUOTAS_SOURCE})",
            where=f"function {function.name} (role {function.role_name})",
            fix="have the function reach fewer resources: split it into functions that each "
            "name only the resources they use",
            command="skaal build --target aws",
        )
    return function.model_copy(
        update={"statements": tuple(policies[0]), "managed_statements": managed}
    )


def _filled(
    statements: Sequence[Statement], bounds: Bounds, function: Function
) -> list[list[Statement]]:
    """``statements`` in order, filling the inline policy and then managed policies one
    after the other, a statement split by its resources where a policy ends."""
    policies: list[list[Statement]] = [[]]
    used = [_DOCUMENT]
    for statement in statements:
        rest = list(statement.resources)
        parts = 0
        while rest:
            limit = INLINE_POLICY_CHARS if len(policies) == 1 else MANAGED_POLICY_CHARS
            taken = _fitting(statement, rest, bounds, limit - used[-1] - 1)  # and a comma
            if not taken:
                if not policies[-1]:  # one resource past an empty policy: no ARN is that long
                    raise BuildError(
                        f"a statement of {function.name}'s role does not fit an IAM policy",
                        where=f"function {function.name} (role {function.role_name})",
                    )
                policies.append([])
                used.append(_DOCUMENT)
                continue
            if not parts and taken == len(rest):
                piece = statement
            else:
                parts += 1
                piece = _part(statement, rest[:taken], parts)
            policies[-1].append(piece)
            used[-1] += _statement_chars(piece, bounds) + 1
            rest = rest[taken:]
    return policies


def _fitting(statement: Statement, rest: Sequence[Resource], bounds: Bounds, room: int) -> int:
    """How many of ``rest``, from the first, a part of ``statement`` holds within ``room``."""
    size = _statement_chars(_part(statement, [], 99), bounds) - 1  # no resource yet
    count = 0
    for ref in rest:
        lengths = (len(ANY_RESOURCE),) if ref == ANY_RESOURCE else bounds(ref)
        size += sum(length + 3 for length in lengths)  # quoted, and a comma before it
        if size > room:
            break
        count += 1
    return count


def _merged(statements: Sequence[Statement]) -> list[Statement]:
    """One statement per set of actions, in the order they first come, resources in order."""
    groups: dict[tuple[str, ...], list[Statement]] = {}
    for statement in statements:
        groups.setdefault(statement.actions, []).append(statement)
    out = []
    for actions, members in groups.items():
        if len(members) == 1:
            out.append(members[0])
            continue
        resources = tuple(dict.fromkeys(r for m in members for r in m.resources))
        sid = f"{members[0].sid}And{len(members) - 1}More"
        out.append(Statement(sid=sid, actions=actions, resources=resources))
    return out


def _part(statement: Statement, resources: list[Resource], index: int) -> Statement:
    return Statement(
        sid=f"{statement.sid}Part{index}",
        actions=statement.actions,
        resources=tuple(resources),
    )
