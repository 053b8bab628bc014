"""What a built program keeps, checked against what its plan records and prices.

The plan chooses the backups and retention (:mod:`skaal.plan.retention`) and
prices them (``backup_per_gb_month``, ``log_storage_per_gb_month``); the
builders set them from the plan.  :func:`kept_mismatches` reads the
resources a program created (:class:`tests.builder.billable.Created`) and says
where they keep something otherwise:

* a DynamoDB table has point-in-time recovery exactly when its binding has a
  backup, for the recorded days, and is priced for it when it stores data;
* Firestore's database has PITR when any collection is backed up;
* each RDS or Cloud SQL primary keeps the days of backups its instance records;
* each Lambda log group keeps its logs the plan's days, and the logs kept are
  priced for those days;
* a Pub/Sub topic retains messages exactly for its binding's recorded
  retention, and is priced for the messages it retains then.
"""

from __future__ import annotations

from collections.abc import Iterable

from skaal.plan.model import Plan
from skaal.plan.network import HOURS_PER_MONTH
from tests.builder.billable import Created, is_primary

__all__ = ["kept_mismatches"]


def kept_mismatches(created: Iterable[Created], plan: Plan) -> tuple[str, ...]:
    """Where the created resources keep backups or logs otherwise than the plan prices."""
    resources = list(created)
    return (
        *_tables(resources, plan),
        *_firestore(resources, plan),
        *_databases(resources, plan),
        *_logs(resources, plan),
        *_topics(resources, plan),
    )


def _days(value: object) -> str:
    """A number of days as text (``None`` when unset; the mocks give numbers as floats)."""
    return "None" if value is None else str(int(float(str(value))))


def _tables(resources: list[Created], plan: Plan) -> list[str]:
    bindings = {b.resource: b for b in plan.bindings}
    found = []
    for table in (r for r in resources if r.type == "aws:dynamodb/table:Table"):
        binding = bindings[table.name]
        pitr = table.inputs.get("pointInTimeRecovery") or {}
        days = binding.backup.retention_days if binding.backup else None
        if bool(pitr.get("enabled")) != (days is not None):
            found.append(f"table {table.name}: point-in-time recovery {pitr}, plan backup {days}")
        elif days is not None and _days(pitr.get("recoveryPeriodInDays")) != _days(days):
            found.append(f"table {table.name}: recovery period {pitr}, plan {days} days")
        components = {line.component for line in binding.cost}
        priced = "backup_per_gb_month" in components
        if priced != (days is not None and "per_gb_month" in components):
            found.append(f"table {table.name}: backup {days} days, priced: {priced}")
    return found


def _firestore(resources: list[Created], plan: Plan) -> list[str]:
    backed = any(b.backup for b in plan.bindings if b.implementation == "firestore")
    found = []
    for database in (r for r in resources if r.type == "gcp:firestore/database:Database"):
        enablement = database.inputs.get("pointInTimeRecoveryEnablement")
        if (enablement == "POINT_IN_TIME_RECOVERY_ENABLED") != backed:
            found.append(f"Firestore PITR {enablement}, plan backups: {backed}")
    return found


def _database_days(resource: Created) -> str | None:
    """The days of backups a primary database keeps (``None``: not a database)."""
    inputs = resource.inputs
    if resource.type == "aws:rds/instance:Instance":
        return _days(inputs.get("backupRetentionPeriod") or None)
    if resource.type == "gcp:sql/databaseInstance:DatabaseInstance":
        backups = inputs["settings"].get("backupConfiguration") or {}
        return _days(backups.get("transactionLogRetentionDays") if backups.get("enabled") else None)
    return None


def _databases(resources: list[Created], plan: Plan) -> list[str]:
    kept = sorted(
        days for r in resources if is_primary(r) and (days := _database_days(r)) is not None
    )
    recorded = sorted(
        _days(i.backup.retention_days if i.backup else None)
        for i in plan.instances
        if any(line.component.startswith("volume") for line in i.cost)
    )
    return [] if kept == recorded else [f"database backups kept {kept} days, plan {recorded}"]


def _logs(resources: list[Created], plan: Plan) -> list[str]:
    found = []
    for group in (r for r in resources if r.type == "aws:cloudwatch/logGroup:LogGroup"):
        if _days(group.inputs.get("retentionInDays")) != _days(plan.log_retention_days):
            found.append(
                f"log group {group.name}: {group.inputs.get('retentionInDays')} days, "
                f"plan {plan.log_retention_days}"
            )
    days = plan.log_retention_days or 0
    for binding in plan.bindings:
        lines = {line.component: line.quantity for line in binding.cost}
        written, stored = lines.get("log_ingestion_per_gb"), lines.get("log_storage_per_gb_month")
        # the logs kept at any time: a month's logs x the days kept / the days of a month
        if (
            written
            and stored is not None
            and abs(stored - written * days / (HOURS_PER_MONTH / 24)) > 2e-6
        ):  # both quantities are rounded to a millionth
            found.append(
                f"{binding.resource}: logs priced as {stored} GB kept of {written} GB "
                f"written a month, not for {days} days"
            )
    return found


def _seconds(value: object) -> int | None:
    """A duration like ``"86400s"`` in seconds (``None`` when unset)."""
    return None if value is None else int(float(str(value).removesuffix("s")))


def _topics(resources: list[Created], plan: Plan) -> list[str]:
    """Each binding's own topic (``<resource>-topic``) retains what the binding records."""
    found = []
    topics = {r.name: r for r in resources if r.type == "gcp:pubsub/topic:Topic"}
    for binding in plan.bindings:
        topic = topics.get(f"{binding.resource}-topic")
        if topic is None:
            continue
        kept = _seconds(topic.inputs.get("messageRetentionDuration"))
        recorded = binding.retention.messages_s if binding.retention else None
        if kept != recorded:
            found.append(f"topic {topic.name}: retains {kept} s, plan {recorded}")
        priced = any(line.component == "message_storage_per_gb_month" for line in binding.cost)
        if priced != (recorded is not None):
            found.append(f"topic {topic.name}: retains {kept} s, priced: {priced}")
    return found
