"""What a plan keeps, and for how long: backups, message and version retention, logs.

The builders switch on point-in-time recovery, set message retention, keep
previous object versions and expire function logs; how long each is kept
is part of the plan (:class:`~skaal.plan.model.Backup`,
:class:`~skaal.plan.model.Retention`, :attr:`~skaal.plan.model.Plan.log_retention_days`),
chosen here from the declarations or a documented default, so the price the
plan shows is the price of what the build makes, and no builder decides it.

**Backups** (point-in-time recovery), per implementation on the cloud providers:

=============  ========  ==================================================
implementation  days     when
=============  ========  ==================================================
dynamodb        35       unless the resource is declared ``ephemeral``: each
                         table's continuous backups (35 days is DynamoDB's
                         default recovery period; the price does not depend
                         on it)
firestore       7        always: PITR is a setting of the one database every
                         collection shares, so it is on whenever the plan
                         uses Firestore, and every collection is priced
postgres        7        always: the instance's automated backups (RDS's
                         ``backup_retention_period``, Cloud SQL's backups
                         with point-in-time recovery); a read replica and a
                         point-in-time restore both need them
=============  ========  ==================================================

A backend prices its backups with ``backup_per_gb_month`` on the data of
each resource it backs up (DynamoDB and Firestore PITR, Cloud SQL backups);
RDS backup storage up to the size of the instance's volume is free, so it
has no such component.  The local provider makes no backups.

**Retention**:

* an SQS queue keeps an unconsumed message for its declared ``retention``
  (60 s to 14 days), else SQS's default of 4 days, and its dead letters for
  the maximum, 14 days;
* a Pub/Sub queue or topic keeps messages for its declared ``retention`` (at
  most 31 days) on the topic, else sets none (the subscription keeps an
  unacknowledged message for Pub/Sub's default 7 days); a queue's dead
  letters are kept those 7 days;
* a blob store that is not ``ephemeral`` keeps an overwritten or deleted
  object's previous version for 30 days (S3 and Cloud Storage versioning);
* a function's logs are kept 30 days (:data:`LOG_RETENTION_DAYS`): the aws
  build sets it on each Lambda's log group; Cloud Run's logs go to the
  project's ``_Default`` log bucket, whose retention is 30 days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from skaal.blueprint.model import ResourceSpec
from skaal.plan.model import Backup, Retention

__all__ = [
    "BACKUPS",
    "DAY_S",
    "LOG_RETENTION_DAYS",
    "SQS_DEFAULT_RETENTION_S",
    "VERSIONS_DAYS",
    "BackupPolicy",
    "backed_up",
    "backup_of",
    "log_retention_days",
    "retention_of",
    "server_backup",
]

DAY_S = 86400
LOG_RETENTION_DAYS = 30
"""How long a function's logs are kept on the cloud providers."""
VERSIONS_DAYS = 30
"""How long a durable blob store keeps an object's previous version."""
SQS_DEFAULT_RETENTION_S = 4 * DAY_S
"""SQS's own default message retention."""
_SQS_MIN_S, _SQS_MAX_S = 60, 14 * DAY_S
_PUBSUB_TOPIC_MAX_S = 31 * DAY_S
_PUBSUB_SUBSCRIPTION_MAX_S = 7 * DAY_S
_CLOUDS = frozenset({"aws", "gcp"})


@dataclass(frozen=True, slots=True)
class BackupPolicy:
    """How an implementation's resources are backed up on the cloud providers."""

    retention_days: int
    unless_ephemeral: bool
    """True: a resource declared ``durability="ephemeral"`` is not backed up."""


BACKUPS: Mapping[str, BackupPolicy] = MappingProxyType(
    {
        "dynamodb": BackupPolicy(retention_days=35, unless_ephemeral=True),
        "firestore": BackupPolicy(retention_days=7, unless_ephemeral=False),
        "postgres": BackupPolicy(retention_days=7, unless_ephemeral=False),
    }
)


def backed_up(implementation: str, *, ephemeral: bool) -> bool:
    """Whether a resource on ``implementation`` is backed up (on a cloud provider)."""
    policy = BACKUPS.get(implementation)
    return policy is not None and not (policy.unless_ephemeral and ephemeral)


def backup_of(provider: str, implementation: str, spec: ResourceSpec) -> Backup | None:
    """The backup of ``spec`` placed on ``implementation``; ``None`` when it has none."""
    if provider not in _CLOUDS:
        return None
    if not backed_up(implementation, ephemeral=_ephemeral(spec)):
        return None
    return Backup(retention_days=BACKUPS[implementation].retention_days)


def server_backup(provider: str, implementation: str) -> Backup | None:
    """The automated backups of a server instance of ``implementation``, if it makes any."""
    policy = BACKUPS.get(implementation)
    if provider not in _CLOUDS or policy is None:
        return None
    return Backup(retention_days=policy.retention_days)


def retention_of(provider: str, implementation: str, spec: ResourceSpec) -> Retention | None:
    """How long ``spec`` on ``implementation`` keeps what it holds; ``None``: nothing to set."""
    if provider not in _CLOUDS:
        return None
    declared = spec.requirements.retention_s
    if implementation == "sqs":
        kept = declared if declared is not None else SQS_DEFAULT_RETENTION_S
        return Retention(
            messages_s=int(min(max(kept, _SQS_MIN_S), _SQS_MAX_S)), dead_letters_s=_SQS_MAX_S
        )
    if implementation == "pubsub":
        messages = int(min(declared, _PUBSUB_TOPIC_MAX_S)) if declared else None
        dead = _PUBSUB_SUBSCRIPTION_MAX_S if spec.kind == "queue" else None
        if messages is None and dead is None:
            return None
        return Retention(messages_s=messages, dead_letters_s=dead)
    if implementation in ("s3", "gcs") and not _ephemeral(spec):
        return Retention(versions_days=VERSIONS_DAYS)
    return None


def log_retention_days(provider: str) -> int | None:
    """How long a build for ``provider`` keeps its functions' logs (``None``: no logs kept)."""
    return LOG_RETENTION_DAYS if provider in _CLOUDS else None


def _ephemeral(spec: ResourceSpec) -> bool:
    return spec.requirements.durability == "ephemeral"
