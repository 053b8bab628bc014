"""What a plan keeps, and for how long: backups, message and version retention, logs.

The builders switch on point-in-time recovery, set message retention, keep
previous object versions and expire function logs; how long each is kept
is part of the plan (:class:`~skaal.plan.model.Backup`,
:class:`~skaal.plan.model.Retention`, :attr:`~skaal.plan.model.Plan.log_retention_days`),
chosen here from the declarations and the implementation's record
(:class:`skaal.registry.Keeping`, per provider), so the price the plan shows
is the price of what the build makes, and no builder decides it.

* **Backups.**  A resource is backed up when its implementation's record
  says so on the plan's provider (``backup_days``), unless it is declared
  ``ephemeral`` and the record backs up only what must last
  (``backup_ephemeral=False``: a DynamoDB table, 35 days of PITR).  A
  database every resource shares is backed up as a whole (Firestore's PITR,
  7 days; an RDS or Cloud SQL instance's automated backups, 7 days: every
  resource on it, and :func:`server_backup` for the instance).  The catalog
  prices them with ``backup_per_gb_month`` on each resource's data (RDS
  backup storage up to the volume's size is free: no such component).
* **Retention.**  A queue or topic keeps messages for its declared
  ``retention``, else the record's default (SQS: 4 days; Pub/Sub: none set),
  brought within what the service accepts (SQS: 60 s to 14 days; Pub/Sub:
  31 days); a queue keeps its dead letters the record's ``dead_letters_s``
  (SQS: 14 days; Pub/Sub: 7); a blob store not declared ``ephemeral`` keeps
  an object's previous version ``versions_days`` (30).
* **Logs.**  A function's logs are kept the ``logs_days`` of its provider's
  function implementation (30): the aws build sets it on each Lambda's log
  group; Cloud Run's logs stay in the project's ``_Default`` log bucket,
  whose retention is 30 days.

The local provider keeps nothing: its records say nothing for it.
"""

from __future__ import annotations

from skaal.blueprint.model import ResourceSpec
from skaal.catalog.model import Provider
from skaal.plan.model import Backup, Retention
from skaal.registry import DEFAULT_REGISTRY, Registry

__all__ = [
    "backed_up",
    "backup_of",
    "log_retention_days",
    "logs_days",
    "retention_of",
    "server_backup",
]


def backed_up(
    implementation: str, *, ephemeral: bool, registry: Registry = DEFAULT_REGISTRY
) -> bool:
    """Whether a resource on ``implementation`` is backed up where the implementation is."""
    rule = registry.backup_rule(implementation)
    return rule is not None and (rule.backup_ephemeral or not ephemeral)


def backup_of(
    provider: Provider,
    implementation: str,
    spec: ResourceSpec,
    *,
    registry: Registry = DEFAULT_REGISTRY,
) -> Backup | None:
    """The backup of ``spec`` placed on ``implementation``; ``None`` when it has none."""
    kept = registry.keeping(implementation, provider)
    if kept.backup_days is None or (_ephemeral(spec) and not kept.backup_ephemeral):
        return None
    return Backup(retention_days=kept.backup_days)


def server_backup(
    provider: Provider, implementation: str, *, registry: Registry = DEFAULT_REGISTRY
) -> Backup | None:
    """The automated backups of a server instance of ``implementation``, if it makes any."""
    days = registry.keeping(implementation, provider).backup_days
    return None if days is None else Backup(retention_days=days)


def retention_of(
    provider: Provider,
    implementation: str,
    spec: ResourceSpec,
    *,
    registry: Registry = DEFAULT_REGISTRY,
) -> Retention | None:
    """How long ``spec`` on ``implementation`` keeps what it holds; ``None``: nothing to set."""
    kept = registry.keeping(implementation, provider)
    messages = dead = versions = None
    if spec.kind in ("queue", "topic"):
        declared = spec.requirements.retention_s
        wanted = declared if declared is not None else kept.messages_default_s
        if wanted is not None:
            top = kept.messages_max_s if kept.messages_max_s is not None else wanted
            messages = int(min(max(wanted, kept.messages_min_s), top))
        if spec.kind == "queue":
            dead = kept.dead_letters_s
    if spec.kind == "blob" and not _ephemeral(spec):
        versions = kept.versions_days
    if messages is None and dead is None and versions is None:
        return None
    return Retention(messages_s=messages, dead_letters_s=dead, versions_days=versions)


def log_retention_days(provider: Provider, *, registry: Registry = DEFAULT_REGISTRY) -> int | None:
    """How long a build for ``provider`` keeps its functions' logs (``None``: no logs kept)."""
    days = {
        kept.logs_days
        for impl in registry
        if "function" in impl.kinds and (kept := impl.keeping.get(provider)) is not None
    } - {None}
    return max((d for d in days if d is not None), default=None)


def logs_days(implementation: str, *, registry: Registry = DEFAULT_REGISTRY) -> int:
    """How long a function implementation's logs are kept wherever it runs (0: none)."""
    impl = registry.implementations.get(implementation)
    days = [k.logs_days for k in impl.keeping.values() if k.logs_days] if impl else []
    return days[0] if days else 0


def _ephemeral(spec: ResourceSpec) -> bool:
    return spec.requirements.durability == "ephemeral"
