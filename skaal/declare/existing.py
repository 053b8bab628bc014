"""``existing=``: binding a declared resource to one that already exists.

``@app.storage(existing="arn:aws:dynamodb:us-east-1:123456789012:table/carts")``
or ``@app.blob(existing="gs://acme-uploads")`` adopts a table or bucket the
account already has: the plan places the resource on the service that holds
it and records the adoption (:attr:`skaal.plan.model.Binding.adopted`), the
build references it instead of creating it (so destroying the stack never
deletes it), the runtime reads and writes it under its own name, and the
functions' permissions name it.

What can be adopted, and how it is written:

==========================  =============  ======================================
written as                  service        kinds
==========================  =============  ======================================
``arn:aws:dynamodb:R:A:``   DynamoDB       map, collection
``table/NAME``
``arn:aws:s3:::NAME``       S3             blob
``gs://NAME``               Cloud Storage  blob
``arn:aws:sns:R:A:NAME``    SNS            topic
``projects/P/topics/NAME``  Pub/Sub        topic
``projects/P/``             Pub/Sub        queue
``subscriptions/NAME``
``arn:aws:sqs:R:A:NAME``    SQS            queue
``https://sqs.R.amazonaws``
``.com/A/NAME``
``NAME``                    any of these   of the resource's kind, on the
                                           planned provider
==========================  =============  ======================================

An ARN or URL names its provider and service, so the plan must be for that
provider; a DynamoDB, SNS or SQS ARN (or an SQS URL) also names its region,
where the binding is placed.
A plain name leaves the service to the plan (a map on aws: DynamoDB).  On
the local target nothing exists to adopt: the resource runs locally as if
``existing=`` were not written, and the plan says so.

A Pub/Sub queue is adopted by its subscription (a plain name on a gcp
queue is a subscription name), never by its topic: the runtime reads the
topic and the dead-letter policy from the subscription
(:mod:`skaal.runtime.backends.pubsub_queue`).  A subscription path on any
other kind, and a topic path on a queue, are refused.

A PostgreSQL server is adopted (on a map or collection) by naming it and
the secret holding its credentials, never by a connection URL::

    arn:aws:rds:R:A:db:NAME secret=arn:aws:secretsmanager:R:A:secret:NAME-ABCDEF
    arn:aws:rds:R:A:cluster:NAME secret=arn:aws:secretsmanager:...   (Aurora)
    PROJECT:REGION:INSTANCE secret=projects/PROJECT/secrets/NAME     (Cloud SQL)

The server's region is the binding's; the secret must be on the same
provider.  ``cost=AMOUNT/month`` (US dollars, after the secret) states what the
server costs the app; the plan prices the resource at it, and at $0 without it
(the fees are then its owner's).  A connection URL (``postgresql://...``) is refused without being
repeated: it would put a server's address and credentials in the code, the
Blueprint and the lock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from msgspec import Struct

from skaal.blueprint.model import Kind, ResourceSpec
from skaal.model.grammar import GrammarError

__all__ = [
    "ADOPTABLE",
    "DATABASE_IMPLEMENTATION",
    "Existing",
    "adopted_name",
    "adopted_server_cost",
    "adopts_server",
    "parse_existing",
    "shown",
]

ADOPTABLE: Final[Mapping[str, tuple[str, frozenset[Kind]]]] = {
    "dynamodb": ("aws", frozenset({"map", "collection"})),
    "s3": ("aws", frozenset({"blob"})),
    "gcs": ("gcp", frozenset({"blob"})),
    "sns": ("aws", frozenset({"topic"})),
    "sqs": ("aws", frozenset({"queue"})),
    "pubsub": ("gcp", frozenset({"topic", "queue"})),
}
"""Implementation -> (its provider, the kinds whose existing resources it adopts)."""

DATABASE_IMPLEMENTATION: Final = "postgres"
"""The implementation of the database servers ``existing=`` adopts (RDS, Aurora, Cloud SQL)."""
_DATABASE_KINDS: Final[frozenset[Kind]] = frozenset({"map", "collection"})

_ACCEPTED = (
    "a DynamoDB table ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME), an S3 bucket ARN "
    "(arn:aws:s3:::NAME), a Cloud Storage URL (gs://NAME), an SNS topic ARN "
    "(arn:aws:sns:REGION:ACCOUNT:NAME), an SQS queue ARN or URL "
    "(https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), a Pub/Sub topic path "
    "(projects/PROJECT/topics/NAME), a Pub/Sub subscription path "
    "(projects/PROJECT/subscriptions/NAME) for a queue, a plain table, bucket, topic or "
    "queue name, or a "
    "PostgreSQL server with its credentials secret: 'arn:aws:rds:REGION:ACCOUNT:db:NAME "
    "secret=arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME' (an Aurora cluster: "
    "...:cluster:NAME), or 'PROJECT:REGION:INSTANCE secret=projects/PROJECT/secrets/NAME' "
    "(Cloud SQL)"
)
_DATABASE = (
    "'arn:aws:rds:REGION:ACCOUNT:db:NAME secret=arn:aws:secretsmanager:REGION:ACCOUNT:"
    "secret:NAME' (an RDS instance; an Aurora cluster is ...:cluster:NAME) or "
    "'PROJECT:REGION:INSTANCE secret=projects/PROJECT/secrets/NAME' (a Cloud SQL instance), "
    "optionally followed by 'cost=AMOUNT/month' (US dollars)"
)


class _Pattern:
    """A regular expression compiled on its first use: most apps adopt nothing, and every
    command that imports the declaration API would compile all of them (4 ms)."""

    __slots__ = ("_compiled", "_source")

    def __init__(self, source: str) -> None:
        self._source = source
        self._compiled: re.Pattern[str] | None = None

    def match(self, text: str) -> re.Match[str] | None:
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = re.compile(self._source)
        return compiled.match(text)


_COST = _Pattern(r"^(?P<amount>\d{1,9}(?:\.\d{1,2})?)(?:/month)?$")
_REGION = r"(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
_RDS_ARN = _Pattern(
    rf"^arn:aws(?:-[a-z]+)*:rds:{_REGION}:\d{{12}}:(?P<type>db|cluster):"
    r"(?P<name>[A-Za-z][A-Za-z0-9-]{0,62})$"
)
_CLOUDSQL = _Pattern(
    r"^(?P<project>[a-z][a-z0-9-]{4,28}[a-z0-9]):(?P<region>[a-z]+-[a-z]+\d+):"
    r"(?P<name>[a-z][a-z0-9-]{0,97})$"
)
_AWS_SECRET = _Pattern(
    rf"^arn:aws(?:-[a-z]+)*:secretsmanager:{_REGION}:\d{{12}}:secret:[A-Za-z0-9/_+=.@-]{{1,512}}$"
)
_GCP_SECRET = _Pattern(r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/secrets/[A-Za-z0-9_-]{1,255}$")
_ARN = _Pattern(r"^arn:aws(?:-[a-z]+)*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):[^:]*:")
_TABLE_ARN = _Pattern(
    r"^arn:aws(?:-[a-z]+)*:dynamodb:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:"
    r"table/(?P<name>[A-Za-z0-9_.-]{3,255})$"
)
_BUCKET_ARN = _Pattern(r"^arn:aws(?:-[a-z]+)*:s3:::(?P<name>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$")
_TOPIC_ARN = _Pattern(
    r"^arn:aws(?:-[a-z]+)*:sns:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:"
    r"(?P<name>[A-Za-z0-9_-]{1,251}(?:\.fifo)?)$"
)
_QUEUE_ARN = _Pattern(
    r"^arn:aws(?:-[a-z]+)*:sqs:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:"
    r"(?P<name>[A-Za-z0-9_-]{1,75}(?:\.fifo)?)$"
)
_QUEUE_URL = _Pattern(
    r"^https://sqs\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com/\d{12}/"
    r"(?P<name>[A-Za-z0-9_-]{1,75}(?:\.fifo)?)$"
)
_PUBSUB_TOPIC = _Pattern(
    r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/topics/(?P<name>[A-Za-z][A-Za-z0-9._~+%-]{2,254})$"
)
_PUBSUB_SUBSCRIPTION = _Pattern(
    r"^projects/[a-z][a-z0-9-]{4,28}[a-z0-9]/subscriptions/(?P<name>[A-Za-z][A-Za-z0-9._~+%-]{2,254})$"
)
_GCS_URL = _Pattern(r"^gs://(?P<name>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/?$")
_URL = _Pattern(r"^(?!gs://|https://sqs\.)[A-Za-z][A-Za-z0-9+.-]*://.*$")
_PLAIN = _Pattern(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,253}[A-Za-z0-9]$")


class Existing(Struct, frozen=True):
    """What ``existing=`` names, read from its text."""

    name: str
    """The physical name: the table, bucket, topic or queue name."""
    implementations: tuple[str, ...]
    """The implementations that can hold it (sorted)."""
    provider: str | None
    """The provider an ARN or URL names; ``None`` for a plain name."""
    region: str | None = None
    """The region an ARN or URL names (DynamoDB, SNS, SQS, a database server); ``None`` if
    it names none."""
    server: str | None = None
    """A database server: its ARN (RDS instance or Aurora cluster) or Cloud SQL connection
    name, which the build reads; ``None`` for every other resource."""
    secret: str | None = None
    """A database server: the secret holding its credentials (a Secrets Manager ARN or a
    Secret Manager path); the runtime reads it when it connects."""
    monthly_cost: float | None = None
    """A database server: what ``cost=AMOUNT/month`` states it costs the app (USD a month);
    ``None`` when not stated (the plan prices it at $0, its fees being its owner's)."""


def parse_existing(value: object, kind: Kind) -> Existing:
    """Read ``existing=`` of a ``kind``; a :class:`GrammarError` saying what is accepted."""
    if not isinstance(value, str):
        raise GrammarError(f"{value!r} is not an existing resource", accepted=_ACCEPTED)
    text = value.strip()
    head = text.split(maxsplit=1)[0] if text else text
    if _RDS_ARN.match(head) or _CLOUDSQL.match(head):
        return _database(text, kind)
    if any(part.startswith("cost=") for part in text.split()[1:]):
        raise GrammarError(
            f"cost= prices an adopted database server only; {head!r} is priced as the "
            "catalog prices its service (its reads, writes and storage are the app's)",
            accepted=f"{_accepted_for(kind)}; remove cost= here",
        )
    if _PUBSUB_SUBSCRIPTION.match(text) and kind != "queue":
        raise GrammarError(
            f"{text!r} is a Pub/Sub subscription, which holds a queue, not a {kind}",
            accepted=_accepted_for(kind),
        )
    if _PUBSUB_TOPIC.match(text) and kind == "queue":
        raise GrammarError(
            f"{text!r} is a Pub/Sub topic: a queue on Pub/Sub is adopted by its subscription, "
            "which names the topic and the dead-letter policy",
            accepted=f"{_accepted_for(kind)}; name the subscription the queue's messages are "
            "pulled from",
        )
    found = _read(text)
    if found is None and _URL.match(text):
        raise GrammarError(
            "a connection URL would put a server's address and credentials in the code, "
            "so Skaal does not adopt database servers by their URL",
            accepted=f"{_accepted_for(kind)} | a database server and its secret: {_DATABASE}",
        )
    if found is None:
        service = _ARN.match(text)
        what = f"an ARN of {service['service']}, which Skaal cannot adopt" if service else None
        raise GrammarError(what or f"{value!r} is not an existing resource", accepted=_ACCEPTED)
    for implementation in found.implementations:
        if kind not in ADOPTABLE[implementation][1]:
            held = " or ".join(sorted(ADOPTABLE[implementation][1]))
            raise GrammarError(
                f"{value!r} is a {implementation} resource, which holds a {held}, not a {kind}",
                accepted=_accepted_for(kind),
            )
    if found.provider is None:
        serving = tuple(sorted(i for i, (_, kinds) in ADOPTABLE.items() if kind in kinds))
        if not serving:
            raise GrammarError(
                f"a {kind} cannot adopt an existing resource",
                accepted="existing= on a map or collection (a DynamoDB table), a blob "
                "(an S3 or Cloud Storage bucket), a topic (an SNS or Pub/Sub topic) or a queue "
                "(an SQS queue or a Pub/Sub subscription); remove it here",
            )
        return Existing(found.name, serving, None)
    return found


def adopted_server_cost(spec: ResourceSpec, provider: str) -> float:
    """What the database server ``spec`` adopts on ``provider`` costs the app a month:
    its ``cost=``, or 0 when not stated (its fees are its owner's)."""
    if spec.existing is None or provider == "local":
        return 0.0
    return parse_existing(spec.existing, spec.kind).monthly_cost or 0.0


def shown(value: object) -> str:
    """``value`` as an error message may repeat it: a connection URL is not repeated."""
    if isinstance(value, str) and any(
        _URL.match(part.removeprefix("secret=")) for part in value.split()
    ):
        return "'<a connection URL, not repeated here>'"
    return repr(value)


def adopts_server(spec: ResourceSpec, provider: str) -> bool:
    """Whether ``spec`` adopts an existing database server on ``provider`` (never locally)."""
    if spec.existing is None or provider == "local":
        return False
    return parse_existing(spec.existing, spec.kind).server is not None


def adopted_name(spec: ResourceSpec, provider: str) -> str | None:
    """The physical name ``spec`` adopts on ``provider``; ``None`` if it adopts nothing there."""
    if spec.existing is None or provider == "local":
        return None
    return parse_existing(spec.existing, spec.kind).name


def _database(text: str, kind: Kind) -> Existing:
    """A database server and its credentials secret: ``SERVER secret=SECRET``."""
    server, *rest = text.split()
    if kind not in _DATABASE_KINDS:
        raise GrammarError(
            f"{server!r} is a PostgreSQL server, which holds a collection or map, not a {kind}",
            accepted=_accepted_for(kind),
        )
    options: dict[str, str] = {}
    for part in rest:
        key, equals, value = part.partition("=")
        if "://" in part:  # a connection URL, perhaps with its password: not repeated
            raise GrammarError(
                f"{key}= must name a secret, not a connection URL (not repeated here)",
                accepted=_DATABASE,
            )
        if not equals or key not in ("secret", "cost") or key in options:
            raise GrammarError(
                f"after the server {server!r}, only 'secret=SECRET' and 'cost=AMOUNT/month' "
                f"may follow, each once; not {part!r}",
                accepted=_DATABASE,
            )
        options[key] = value
    if "secret" not in options:
        raise GrammarError(
            f"{server!r} names a database server but not the secret holding its credentials",
            accepted=_DATABASE,
        )
    secret, cost = options["secret"], _cost(options.get("cost"))
    if match := _RDS_ARN.match(server):
        if not _AWS_SECRET.match(secret):
            raise GrammarError(
                f"{secret!r} is not a Secrets Manager secret ARN, which an RDS server needs",
                accepted="secret=arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME",
            )
        return Existing(
            match["name"], (DATABASE_IMPLEMENTATION,), "aws", match["region"], server, secret, cost
        )
    match = _CLOUDSQL.match(server)
    assert match is not None  # parse_existing sends only the two server forms here
    if not _GCP_SECRET.match(secret):
        raise GrammarError(
            f"{secret!r} is not a Secret Manager secret path, which a Cloud SQL server needs",
            accepted="secret=projects/PROJECT/secrets/NAME",
        )
    return Existing(
        match["name"], (DATABASE_IMPLEMENTATION,), "gcp", match["region"], server, secret, cost
    )


def _cost(written: str | None) -> float | None:
    """``cost=AMOUNT/month``: US dollars a month, at most two decimals."""
    if written is None:
        return None
    match = _COST.match(written)
    if match is None:
        raise GrammarError(
            f"cost={written!r} is not a monthly price in US dollars",
            accepted="cost=AMOUNT/month with AMOUNT a number of dollars, such as "
            "cost=120/month or cost=89.50/month",
        )
    return float(match["amount"])


def _read(text: str) -> Existing | None:
    if match := _TABLE_ARN.match(text):
        return Existing(match["name"], ("dynamodb",), "aws", match["region"])
    if match := _BUCKET_ARN.match(text):
        return Existing(match["name"], ("s3",), "aws")
    if match := _TOPIC_ARN.match(text):
        return Existing(match["name"], ("sns",), "aws", match["region"])
    if match := _QUEUE_ARN.match(text) or _QUEUE_URL.match(text):
        return Existing(match["name"], ("sqs",), "aws", match["region"])
    if match := _PUBSUB_TOPIC.match(text) or _PUBSUB_SUBSCRIPTION.match(text):
        return Existing(match["name"], ("pubsub",), "gcp")
    if match := _GCS_URL.match(text):
        return Existing(match["name"], ("gcs",), "gcp")
    if _PLAIN.match(text) and not text.startswith("arn:"):
        return Existing(text, (), None)
    return None


def _accepted_for(kind: Kind) -> str:
    forms = {
        "dynamodb": "a DynamoDB table ARN or name",
        "s3": "an S3 bucket ARN or name",
        "gcs": "a gs:// URL or bucket name",
        "sns": "an SNS topic ARN or name",
        "sqs": "an SQS queue ARN, URL or name",
        "pubsub": "a Pub/Sub topic path (projects/PROJECT/topics/NAME) or name",
    }
    if kind == "queue":
        forms["pubsub"] = (
            "a Pub/Sub subscription path (projects/PROJECT/subscriptions/NAME) or name"
        )
    served = [forms[i] for i, (_, kinds) in ADOPTABLE.items() if kind in kinds]
    if kind in _DATABASE_KINDS:
        served.append("a PostgreSQL server and its secret (SERVER secret=SECRET)")
    return " | ".join(served) or "nothing: this kind cannot adopt"
