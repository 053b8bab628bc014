"""Physical names of cloud resources: the single source of truth.

Every name a cloud resource gets in an account -- a DynamoDB table, an S3
bucket, an SQS queue, an SNS topic -- comes from :func:`physical_name`.  The
runtime backends use it to find their resources and the build stage uses it
to create them, so the two can never disagree.  Do not build a physical name
anywhere else.

The name is ``<prefix><app>-<resource>[-<suffix>]``, lowercased, with every
run of characters outside ``[a-z0-9]`` turned into one ``-`` (``billing.Invoices``
of app ``shop`` → ``shop-billing-invoices``).  One rule for every service keeps
names predictable: it satisfies the strictest of them (S3 buckets: lowercase
letters, digits and hyphens, 3 to 63 characters, starting and ending with a
letter or digit).  A name longer than the service allows is cut and ends in
eight hex digits of the SHA-256 of the full name, so it stays unique and
stable.  ``prefix`` (``SKAAL_AWS_NAME_PREFIX`` in the environment) separates
several deployments of one app in one account -- a stage, or a test run.

An app deployed as an *environment* (``skaal plan --env staging``, see
:mod:`skaal.envs`) is named from :func:`name_base`: ``<app>-<env>`` in place
of ``<app>``, so ``Carts`` of ``shop`` in ``staging`` is
``shop-staging-carts``, apart from ``shop-dev-carts`` in the same account.
The builders put the environment in ``SKAAL_ENV`` (:data:`ENV_VARIABLE`)
and the runtime reads it there, so both compute the same names.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

__all__ = ["ENV_VARIABLE", "MAX_LENGTH", "Service", "as_service", "name_base", "physical_name"]

Service = Literal["dynamodb", "s3", "sqs", "sns"]

MAX_LENGTH: dict[Service, int] = {"dynamodb": 255, "s3": 63, "sqs": 80, "sns": 256}
"""The longest name each service accepts (SQS FIFO queues need 5 of theirs for ``.fifo``)."""

_UNSAFE = re.compile(r"[^a-z0-9]+")

ENV_VARIABLE = "SKAAL_ENV"
"""The variable naming the environment a deployment or ``skaal run`` serves."""


def name_base(app: str, env: str = "") -> str:
    """What physical names of ``app`` start with: ``app``, or ``app-env`` in an environment."""
    return f"{app}-{env}" if env else app


def as_service(name: str) -> Service:
    """``name`` as a :data:`Service` (an implementation record's ``naming``).

    ``ValueError`` for a name with no rule here: add its length limit to
    :data:`MAX_LENGTH` first.
    """
    for service in MAX_LENGTH:
        if service == name:
            return service
    raise ValueError(f"no naming rule for service {name!r}; known: {', '.join(MAX_LENGTH)}")


def physical_name(
    app: str, resource: str, *, service: Service, suffix: str = "", prefix: str = ""
) -> str:
    """The account-level name of ``resource`` of ``app`` on ``service``.

    ``suffix`` names a companion resource (``"dlq"`` for a dead-letter queue).
    """
    parts = [p for p in (prefix, app, resource, suffix) if p]
    name = _UNSAFE.sub("-", "-".join(parts).lower()).strip("-") or "skaal"
    while len(name) < 3:
        name += "-0"
    limit = MAX_LENGTH[service] - (5 if service == "sqs" else 0)
    if len(name) > limit:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: limit - 9].rstrip('-')}-{digest}"
    return name
