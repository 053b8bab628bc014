"""The state parts of the gcp stack model: Firestore databases, buckets and secrets.

* **Firestore**: the project's ``(default)`` Native-mode database, and one
  database per other location the plan puts Firestore resources in (named in
  the services' ``SKAAL_FIRESTORE_DATABASES``, where the runtime's client
  finds the database of each resource's location), point-in-time recovery on
  when the plan backs its collections up (:mod:`skaal.plan.retention`), a
  composite index ``(x.<field>, k)`` for every declared ``Index`` (the
  runtime's queries filter on the first and page on the second) and a TTL
  policy on ``exp`` for every collection.  The origin of a pending move
  (:mod:`~skaal.builder.targets.gcp_moves`) keeps its collection, named as
  before the move; a database holding only such origins is *retiring*.  Google grants no role per
  collection: ``roles/datastore.user`` is granted with an IAM condition naming
  one database, to the identities using a resource in it.
* **Cloud Storage**: a bucket per blob store, uniform access, public access
  prevention enforced, versioning with previous versions kept as long as the
  plan's :class:`~skaal.plan.model.Retention` says (none: not versioned); its
  name ends with 8 hex digits of the hash of the runtime service account's
  unique id (assigned by Google when the account is created), so it cannot be
  guessed and claimed before the deploy, and the services get the real name
  in ``SKAAL_<RESOURCE>_NAME``.  A bucket adopted with ``existing=`` is read
  instead: never created, changed or deleted; its services are granted
  access to it.
* **Secret Manager**: a secret per declared secret, its value from the secret
  stack config ``skaal:<NAME>``, granted to -- and injected into -- only the
  services whose functions may read it
  (:class:`skaal.plan.wiring.SecretScope`).
"""

from __future__ import annotations

import math

from skaal.builder.stacks.gcp import (
    Bucket,
    Condition,
    DeclaredSecret,
    EnvBucket,
    EnvSecret,
    EnvValue,
    FirestoreDatabase,
    FirestoreIndex,
)
from skaal.builder.targets.gcp_basis import FIRESTORE_DATABASE, Basis, physical_name
from skaal.plan.model import Binding
from skaal.plan.wiring import FIRESTORE_DATABASES_ENV, resource_env

__all__ = ["BUCKET_BASE_LENGTH", "FIRESTORE_TTL_FIELD", "bucket", "firestore", "secret"]

FIRESTORE_TTL_FIELD = "exp"
"""The expiry field of a Map entry (:mod:`skaal.runtime.backends.gcp_firestore_values`)."""
BUCKET_BASE_LENGTH = 54
"""A bucket name's part before its 9-character unique suffix (63 in all)."""


def firestore(basis: Basis, bindings: list[Binding]) -> tuple[FirestoreDatabase, ...]:
    """One Firestore database per location the plan puts Firestore resources in."""
    by_location: dict[str, list[Binding]] = {}
    for b in bindings:
        by_location.setdefault(b.region, []).append(b)
    # the stack's region (else the location of the most) keeps the (default) database
    main = min(by_location, key=lambda r: (r != basis.regions.stack, -len(by_location[r]), r))
    others: list[str] = []
    databases = []
    for location in sorted(by_location, key=lambda r: (r != main, r)):
        database = FIRESTORE_DATABASE if location == main else _database_id(basis, location)
        if location != main:
            others.append(f"{location}={database}")
        databases.append(_database(basis, location, database, by_location[location]))
    if others:
        basis.share(
            EnvValue(name=FIRESTORE_DATABASES_ENV, value=",".join(others)),
            *(b.resource for location, bs in by_location.items() if location != main for b in bs),
        )
    return tuple(databases)


def _database_id(basis: Basis, location: str) -> str:
    """The id of the Firestore database of ``location`` beside the ``(default)`` one."""
    name = physical_name(basis.name_base, location, max_length=63)
    return name if name[:1].isalpha() else physical_name("db", name, max_length=63)


def _database(
    basis: Basis, location: str, database: str, bindings: list[Binding]
) -> FirestoreDatabase:
    default = database == FIRESTORE_DATABASE
    indexes: list[FirestoreIndex] = []
    ttl: list[tuple[str, str]] = []
    for b in bindings:
        spec = basis.blueprint.resource(b.resource)
        collection = basis.physical(b)  # a kept origin's: as created before its move
        indexes += [
            FirestoreIndex(name=f"{b.resource}-index-{field}", collection=collection, field=field)
            for field in spec.indexes
        ]
        # map entries and documents written with a TTL carry their expiry in exp
        ttl.append((f"{b.resource}-ttl", collection))
    condition = Condition(
        title="only the default Firestore database" if default else f"only the {database} database",
        resource=f"databases/{database}",
    )
    return FirestoreDatabase(
        key="firestore" if default else f"firestore-{location}",
        database=database,
        location=location,
        point_in_time_recovery=any(b.backup is not None for b in bindings),
        grants=basis.project_grants(
            "firestore-user" if default else f"firestore-{location}-user",
            "roles/datastore.user",
            condition,
            basis.users(*(b.resource for b in bindings)),
        ),
        indexes=tuple(indexes),
        ttl_field=FIRESTORE_TTL_FIELD,
        ttl_collections=tuple(ttl),
        # only origins of pending moves: dropped from the stack after the switch, kept in Google
        retiring=all(b in basis.kept for b in bindings),
    )


def bucket(basis: Basis, b: Binding) -> Bucket:
    """The bucket of blob store ``b``: created with a unique suffix, or adopted."""
    basis.share(EnvBucket(name=resource_env(b.resource), bucket=b.resource), b.resource)
    grants = basis.grants(
        f"{b.resource}-objects", "roles/storage.objectAdmin", basis.users(b.resource)
    )
    if b.adopted is not None:
        # existing=: read into the stack, never created, changed or deleted
        return Bucket(resource=b.resource, adopted=b.adopted, grants=grants)
    spec = basis.blueprint.resource(b.resource)
    base = basis.physical(b)[:BUCKET_BASE_LENGTH].rstrip("-")
    versions = b.retention.versions_days if b.retention else None
    ttl = spec.requirements.ttl_s
    return Bucket(
        resource=b.resource,
        base=base,
        location=b.region.upper(),
        versioned=versions is not None,
        ttl_days=max(1, math.ceil(ttl / 86400)) if ttl else None,
        # overwritten and deleted objects stay recoverable for this long
        noncurrent_days=versions,
        grants=grants,
    )


def secret(basis: Basis, b: Binding) -> DeclaredSecret:
    """The declared secret ``b``: readable by (and injected into) its readers' services."""
    basis.secret_env[b.resource] = EnvSecret(name=b.resource, secret=b.resource)
    return DeclaredSecret(
        resource=b.resource,
        secret_id=basis.wiring.resource(b.resource).physical_name,
        # only the services whose functions may read it (skaal.plan.wiring.SecretScope)
        grants=basis.grants(
            f"{b.resource}-access",
            "roles/secretmanager.secretAccessor",
            basis.readers(b.resource),
        ),
    )
