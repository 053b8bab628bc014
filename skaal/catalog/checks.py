"""What a backend table must mean, beyond what the record types check.

:func:`meaning` runs on one merged, raw ``[backends.NAME]`` table (so it runs
even when the table has schema errors too) and returns every problem:

* ``kinds`` and ``regions`` are not empty, capabilities are known;
* a dedicated backend's price has at least one component and is quoted in
  one of the backend's regions (each capacity mode's price too);
* a **server** backend (``[server]``) has at least one instance class, each a
  table named by its key; its instance fee lives in the classes, so
  ``price.fixed_monthly`` is refused; a class's ``parameters`` hold finite
  numbers; read replicas (``max_replicas > 0``)
  only on a memory store (``min_disk_gb = 0``), because a replica's volume is
  not priced, and only on a backend whose consistency is ``["eventual"]``,
  because the runtime serves reads from them; ``min_replicas`` at most
  ``max_replicas``; a server has no capacity modes;
* servers naming the same ``quota_group`` share one quota, so they state
  the same ``quota`` (:func:`shared_quotas`, across backend tables);
* capacity **modes** are tables named by their key; provisioned components
  (``per_read_per_s_month``, ``per_write_per_s_month``) only in a mode that
  states ``target_utilisation``, and so do a mode's regional quotas
  (``quota_read_units``, ``quota_write_units``); a backend with modes takes
  its price from them, so it has no ``[price]`` of its own;
* a price's ``eventual_reads`` (the share of a strong read an eventual one
  costs) scales a read component, so the price has ``per_million_reads`` or
  ``per_read_per_s_month``, and the backend serves eventual reads
  (``performance.consistency`` lists ``"eventual"``);
* a price's ``index_copies`` (the share of another copy of the table each
  secondary index is billed) scales a component it copies (storage, writes
  or provisioned capacity: :data:`INDEX_COMPONENTS`), on a backend serving
  collections with the ``secondary_index`` capability;
* the components priced around a resource apply where the build creates
  what they price: ``per_instance_month`` on a server backend, the function
  components (logs, HTTP requests, scheduled runs and jobs) on a backend
  serving functions, ``backup_per_gb_month`` on an implementation the
  builds back up (its record's ``keeping``, :mod:`skaal.registry`).
"""

from __future__ import annotations

import math
from typing import Any

from msgspec.structs import replace

from skaal.catalog.merge import Merged
from skaal.catalog.model import CAPABILITIES, PRICE_COMPONENTS
from skaal.catalog.positions import KeyPath
from skaal.catalog.problems import Problem, format_table
from skaal.errors import did_you_mean
from skaal.registry import DEFAULT_REGISTRY

__all__ = ["FUNCTION_COMPONENTS", "INDEX_COMPONENTS", "PROVISIONED", "meaning", "shared_quotas"]

#: Price components of provisioned capacity: they need a mode's target_utilisation.
PROVISIONED: tuple[str, ...] = ("per_read_per_s_month", "per_write_per_s_month")
#: The components ``eventual_reads`` scales (see :mod:`skaal.catalog.model`).
_READ_COMPONENTS: tuple[str, ...] = ("per_million_reads", "per_read_per_s_month")
#: The components ``index_copies`` scales (see :mod:`skaal.catalog.model`): what an
#: index holding every item copies; backups and reads are the table's alone.
INDEX_COMPONENTS: tuple[str, ...] = (
    "per_gb_month",
    "per_million_writes",
    "per_read_per_s_month",
    "per_write_per_s_month",
)
#: Price components of what a build creates around a function.
FUNCTION_COMPONENTS: tuple[str, ...] = (
    "log_ingestion_per_gb",
    "log_storage_per_gb_month",
    "per_million_http_requests",
    "per_million_scheduled_runs",
    "per_scheduled_job_month",
)

_ITEM = '{ amount = ..., source = "https://...", as_of = "YYYY-MM-DD" }'


def meaning(merged: Merged, prefix: KeyPath, table: dict[str, Any]) -> list[Problem]:
    """Every problem of one backend table (``prefix`` is ``("backends", NAME)``)."""
    problems = _lists(merged, prefix, table)
    regions = _strings(table.get("regions"))
    server = table.get("server")
    modes = table.get("modes")
    price = table.get("price")
    levels = _levels(table)
    if isinstance(price, dict) and modes is None:
        problems += _price(merged, (*prefix, "price"), price, regions, server=server is not None)
        problems += _provisioned(merged, (*prefix, "price"), price, mode=False)
        problems += _eventual(merged, (*prefix, "price"), price, levels)
    priced = [((*prefix, "price"), price)] if isinstance(price, dict) else []
    if isinstance(modes, dict):
        priced += [
            ((*prefix, "modes", name, "price"), mode["price"])
            for name, mode in modes.items()
            if isinstance(mode, dict) and isinstance(mode.get("price"), dict)
        ]
    for path, item in priced:
        problems += _applies(merged, path, item, table, server=server is not None)
        problems += _indexes(merged, path, item, table)
    if "counts" in table:
        problems += _counts(merged, prefix, table["counts"], table, server=server is not None)
    if isinstance(server, dict):
        problems += _server(merged, prefix, server, price, levels)
        if modes is not None:
            problems.append(
                merged.problem(
                    (*prefix, "modes"),
                    "a server backend has no capacity modes: its instances are the capacity",
                    f"delete [{_dotted(prefix)}.modes], or the [{_dotted(prefix)}.server] table",
                )
            )
    elif modes is not None:
        problems += _modes(merged, prefix, modes, regions, levels)
        if price is not None:
            problems.append(
                merged.problem(
                    (*prefix, "price"),
                    "a backend with capacity modes takes its price from its modes",
                    "delete this price (its first mode's price is the default); an extending "
                    'catalog writes remove = ["price"]',
                )
            )
    return problems


def shared_quotas(merged: Merged, backends: dict[str, Any]) -> list[Problem]:
    """Servers sharing a ``quota_group`` whose ``quota`` or ``quota_scope`` differs from
    the group's first (in file order): one quota is shared, so every member states it."""
    first: dict[str, tuple[str, dict[str, object]]] = {}
    problems: list[Problem] = []
    for name, table in backends.items():
        server = table.get("server") if isinstance(table, dict) else None
        if not isinstance(server, dict):
            continue
        group = server.get("quota_group")
        stated = {"quota": server.get("quota"), "quota_scope": server.get("quota_scope", "region")}
        if not isinstance(group, str) or not group or not isinstance(stated["quota"], int):
            continue
        if group not in first:
            first[group] = (name, stated)
            continue
        other, shared = first[group]
        key = next((k for k in stated if stated[k] != shared[k]), None)
        if key is None:
            continue
        mine, theirs = _toml(stated[key]), _toml(shared[key])
        what = "quota is" if key == "quota" else "quota counts per"
        problems.append(
            merged.problem(
                ("backends", name, "server", key),
                f"{name} shares quota_group {group!r} with {other}, whose {what} "
                f"{shared[key]}; this one {'states' if key == 'quota' else 'counts per'} "
                f"{stated[key]}, but a group has one quota",
                f"write {key} = {theirs} here (or {mine} in [backends.{other}.server]), "
                "or delete quota_group if the provider counts them apart",
            )
        )
    return problems


def _toml(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else str(value)


def _dotted(path: KeyPath) -> str:
    return format_table(path).strip("[]")


def _strings(value: object) -> tuple[str, ...]:
    """The strings of an array value (other entries are the schema pass's business)."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, tuple) else ()


def _lists(merged: Merged, prefix: KeyPath, table: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    if table.get("kinds") == ():
        problems.append(
            merged.problem(
                (*prefix, "kinds"),
                "kinds is empty, so the backend serves nothing",
                'list what it serves, e.g. kinds = ["map"]',
            )
        )
    if table.get("regions") == ():
        problems.append(
            merged.problem(
                (*prefix, "regions"),
                "regions is empty",
                'list the regions it runs in, e.g. regions = ["us-east-1"]',
            )
        )
    for index, capability in enumerate(_strings(table.get("capabilities"))):
        if capability not in CAPABILITIES:
            problems.append(
                replace(
                    merged.problem(
                        (*prefix, "capabilities"),
                        f"unknown capability {capability!r}"
                        f"{did_you_mean(capability, CAPABILITIES)}",
                        f"use one of: {', '.join(CAPABILITIES)}",
                    ),
                    key=f"capabilities[{index}]",
                )
            )
    return problems


def _price(
    merged: Merged,
    path: KeyPath,
    price: dict[str, Any],
    regions: tuple[str, ...],
    *,
    server: bool,
) -> list[Problem]:
    """A price's components and region (a server's price may hold none: its classes do)."""
    problems: list[Problem] = []
    if not server and not any(name in price for name in PRICE_COMPONENTS):
        problems.append(
            merged.problem(
                path,
                "the price has no component, so the backend's cost is unknown",
                f"add at least one of {', '.join(PRICE_COMPONENTS)}, e.g. fixed_monthly = "
                '{ amount = 0.0, source = "https://...", as_of = "2026-11-22" } '
                "(a free backend states amount = 0.0)",
            )
        )
    region = price.get("region")
    if regions and isinstance(region, str) and region not in regions:
        problems.append(
            merged.problem(
                (*path, "region"),
                f"price region {region!r} is not one of the backend's regions "
                f"({', '.join(regions)})",
                "quote prices for a region the backend runs in, or add it to regions",
            )
        )
    return problems


def _applies(
    merged: Merged, path: KeyPath, price: dict[str, Any], table: dict[str, Any], *, server: bool
) -> list[Problem]:
    """Components priced around a resource, on a backend where the build creates no such thing."""
    kinds = _strings(table.get("kinds"))
    implementation = table.get("implementation")
    wrong: list[tuple[str, str, str]] = []
    if "per_instance_month" in price and not server:
        wrong.append(
            (
                "per_instance_month",
                "per_instance_month is paid per server instance, and this backend has none",
                "delete it, or price the resource itself with fixed_monthly",
            )
        )
    backed = sorted(i.name for i in DEFAULT_REGISTRY if DEFAULT_REGISTRY.backup_rule(i.name))
    if "backup_per_gb_month" in price and implementation not in backed:
        wrong.append(
            (
                "backup_per_gb_month",
                f"the builds back up no {implementation!r} resource, so backup_per_gb_month "
                "would never be charged",
                f"delete it (implementations backed up: {', '.join(backed)})",
            )
        )
    if "message_storage_per_gb_month" in price and not {"queue", "topic"} & set(kinds):
        wrong.append(
            (
                "message_storage_per_gb_month",
                "message_storage_per_gb_month prices the messages a topic retains, and this "
                "backend serves no queue or topic",
                'delete it, or add "queue" or "topic" to kinds',
            )
        )
    if "function" not in kinds:
        wrong += [
            (
                name,
                f"{name} prices what the build creates around a function, and this backend "
                "serves none",
                'delete it, or add "function" to kinds',
            )
            for name in FUNCTION_COMPONENTS
            if name in price
        ]
    return [merged.problem((*path, name), message, fix) for name, message, fix in wrong]


def _indexes(
    merged: Merged, path: KeyPath, price: dict[str, Any], table: dict[str, Any]
) -> list[Problem]:
    """``index_copies`` needs a component to copy and a backend indexing collections."""
    if "index_copies" not in price:
        return []
    where = (*path, "index_copies")
    problems: list[Problem] = []
    if not any(name in price for name in INDEX_COMPONENTS):
        problems.append(
            merged.problem(
                where,
                "index_copies prices each secondary index as a share of another copy of "
                "the table, but this price has none of what it copies "
                f"({', '.join(INDEX_COMPONENTS)})",
                "add the components an index copies, or delete index_copies "
                "(indexes then cost nothing more)",
            )
        )
    kinds = _strings(table.get("kinds"))
    capabilities = _strings(table.get("capabilities"))
    if "collection" not in kinds or "secondary_index" not in capabilities:
        problems.append(
            merged.problem(
                where,
                "index_copies prices the secondary indexes of collections, but this backend "
                'does not index collections (kinds with "collection" and capabilities with '
                '"secondary_index")',
                'add "collection" to kinds and "secondary_index" to capabilities if it '
                "serves indexed collections, or delete index_copies",
            )
        )
    return problems


def _provisioned(
    merged: Merged, path: KeyPath, price: dict[str, Any], *, mode: bool
) -> list[Problem]:
    """Provisioned components where no target utilisation says how much to provision."""
    where = (
        f"add target_utilisation (e.g. 0.7) to [{_dotted(path[:-1])}]"
        if mode
        else "move this price into a capacity mode with target_utilisation, e.g. "
        f"[{_dotted(path[:-1])}.modes.provisioned] with target_utilisation = 0.7"
    )
    return [
        merged.problem(
            (*path, name),
            f"{name} prices provisioned capacity, which needs a target_utilisation "
            "(provisioned = rate / target_utilisation)",
            where,
        )
        for name in PROVISIONED
        if name in price
    ]


def _server(
    merged: Merged,
    prefix: KeyPath,
    server: dict[str, Any],
    price: object,
    levels: tuple[str, ...] | None,
) -> list[Problem]:
    problems: list[Problem] = []
    path = (*prefix, "server")
    if isinstance(price, dict) and "fixed_monthly" in price:
        problems.append(
            merged.problem(
                (*prefix, "price", "fixed_monthly"),
                "a server backend's instance fee belongs to its instance classes, "
                "not to price.fixed_monthly",
                f"move the fee into each [{_dotted(path)}.classes.NAME] as price = {_ITEM} "
                "and delete fixed_monthly",
            )
        )
    classes = server.get("classes")
    if classes is None or classes == {}:
        problems.append(
            merged.problem(
                (*path, "classes"),
                "a server backend needs at least one instance class",
                f"add a [{_dotted(path)}.classes.NAME] table with the class's price and "
                "capacity (size_gb, reads_per_s, writes_per_s, connections)",
            )
        )
        return problems
    if not isinstance(classes, dict):
        problems.append(
            merged.problem(
                (*path, "classes"),
                "classes must be a table keyed by class name",
                f'write one [{_dotted(path)}.classes."NAME"] table per class '
                "(the file order is the tie-break order)",
            )
        )
        return problems
    disk = server.get("min_disk_gb", 0)
    for name, item in classes.items():
        where = (*path, "classes", name)
        if not isinstance(item, dict):
            continue  # the schema pass says it must be a table
        if "name" in item:
            problems.append(
                merged.problem(
                    (*where, "name"),
                    "a class's name comes from its table key and cannot be set",
                    f"delete name; rename the table to rename class {name!r}",
                )
            )
        parameters = item.get("parameters")
        for key, value in parameters.items() if isinstance(parameters, dict) else ():
            if isinstance(value, float) and not math.isfinite(value):
                problems.append(
                    merged.problem(
                        (*where, "parameters", key),
                        f"{key} = {value}: every number in a catalog must be finite",
                        f"write a finite number or a quoted string for {key} in "
                        f"[{_dotted((*where, 'parameters'))}]",
                    )
                )
        replicas = item.get("max_replicas", 0)
        if (
            isinstance(replicas, int)
            and replicas > 0
            and isinstance(disk, int | float)
            and disk > 0
        ):
            problems.append(
                merged.problem(
                    (*where, "max_replicas"),
                    f"read replicas are offered only on a memory store (min_disk_gb = 0); "
                    f"this server has min_disk_gb = {disk:g}, and a replica's volume is not "
                    "priced",
                    "delete max_replicas, or model the replicated database as its own backend",
                )
            )
        problems += _replicas(merged, where, item, replicas, levels)
    return problems


def _replicas(
    merged: Merged,
    where: KeyPath,
    item: dict[str, Any],
    replicas: object,
    levels: tuple[str, ...] | None,
) -> list[Problem]:
    """Read replicas serve reads, so they are eventual; ``min_replicas`` within ``max_replicas``."""
    problems: list[Problem] = []
    if isinstance(replicas, int) and replicas > 0 and levels is not None and "strong" in levels:
        problems.append(
            merged.problem(
                (*where, "max_replicas"),
                "read replicas serve reads (the runtime spreads them over the primary and "
                "the replicas), which are then eventually consistent; this backend's "
                f"consistency lists {', '.join(levels)}",
                "delete max_replicas, or offer the replicas as a backend of their own with "
                'performance.consistency = ["eventual"] (see elasticache-redis-replicas in '
                "catalogs/aws.toml)",
            )
        )
    least = item.get("min_replicas", 0)
    most = replicas if isinstance(replicas, int) else 0
    if isinstance(least, int) and least > most:
        problems.append(
            merged.problem(
                (*where, "min_replicas"),
                f"min_replicas = {least} is more than max_replicas = {most}",
                f"set max_replicas to at least {least}, or lower min_replicas",
            )
        )
    return problems


def _levels(table: dict[str, Any]) -> tuple[str, ...] | None:
    """The consistency levels the backend lists (its default when absent); None if malformed."""
    performance = table.get("performance")
    if not isinstance(performance, dict):
        return None
    levels = performance.get("consistency", ("eventual",))
    return _strings(levels) if isinstance(levels, tuple) else None


def _eventual(
    merged: Merged, path: KeyPath, price: dict[str, Any], levels: tuple[str, ...] | None
) -> list[Problem]:
    """``eventual_reads`` needs a read component to scale and a backend serving eventual reads."""
    if "eventual_reads" not in price:
        return []
    where = (*path, "eventual_reads")
    problems: list[Problem] = []
    if not any(name in price for name in _READ_COMPONENTS):
        problems.append(
            merged.problem(
                where,
                "eventual_reads scales the price of reads, but this price has no read "
                f"component ({' or '.join(_READ_COMPONENTS)})",
                "add the read component it discounts, or delete eventual_reads "
                "(reads then cost the same whatever their consistency)",
            )
        )
    if levels is not None and "eventual" not in levels:
        problems.append(
            merged.problem(
                where,
                "eventual_reads prices eventually consistent reads, but the backend's "
                f"performance.consistency ({', '.join(levels) or 'empty'}) does not offer "
                "'eventual'",
                'add "eventual" to performance.consistency if its reads can be eventually '
                "consistent, or delete eventual_reads",
            )
        )
    return problems


def _keyed(
    merged: Merged, where: KeyPath, table: dict[str, Any], what: str, named: str
) -> list[Problem]:
    """A named table (a mode, a count quota) setting the name its key already gives."""
    if "name" not in table:
        return []
    return [
        merged.problem(
            (*where, "name"),
            f"{what}'s name comes from its table key and cannot be set",
            f"delete name; rename the table to rename {named}",
        )
    ]


def _counts(
    merged: Merged, prefix: KeyPath, counts: object, table: dict[str, Any], *, server: bool
) -> list[Problem]:
    """A dedicated backend's count quotas: named tables, counting kinds it serves."""
    path = (*prefix, "counts")
    if server:
        return [
            merged.problem(
                path,
                "a server backend's instances count against its [server] quota; count "
                "quotas are for what a dedicated backend creates per resource",
                f"delete [{_dotted(path)}], and state the instance quota in "
                f"[{_dotted(prefix)}.server]",
            )
        ]
    if not isinstance(counts, dict) or not counts:
        return [
            merged.problem(
                path,
                "counts must be a table of count quotas keyed by what they count",
                f'write one [{_dotted(path)}.NAME] table per quota (e.g. NAME "tables") with '
                "quota and per_kind, or delete counts",
            )
        ]
    kinds = _strings(table.get("kinds"))
    problems: list[Problem] = []
    for name, count in counts.items():
        where = (*path, name)
        if not isinstance(count, dict):
            continue  # the schema pass says it must be a table
        problems += _keyed(merged, where, count, "a count quota", repr(name))
        problems += _count_terms(merged, where, count, kinds)
        per_kind = count.get("per_kind")
        if not isinstance(per_kind, dict):
            continue  # the schema pass says what it must be
        for kind in per_kind:
            if kind not in kinds:
                problems.append(
                    merged.problem(
                        (*where, "per_kind"),
                        f"per_kind counts {kind!r}, which this backend does not serve "
                        f"(kinds = {list(kinds)})",
                        f"delete {kind} from per_kind, or add it to kinds",
                    )
                )
    return problems


def _count_terms(
    merged: Merged, where: KeyPath, count: dict[str, Any], kinds: tuple[str, ...]
) -> list[Problem]:
    """A count quota's ``reserved`` below its quota, its ``per_schedule`` and ``per_route``
    on functions only."""
    problems: list[Problem] = []
    quota, reserved = count.get("quota"), count.get("reserved")
    if isinstance(quota, int) and isinstance(reserved, int) and 0 <= quota <= reserved:
        problems.append(
            merged.problem(
                (*where, "reserved"),
                f"reserved ({reserved:,}) leaves nothing of the quota ({quota:,}) for the "
                "resources",
                "state the provider's quota in quota and, in reserved, how many the build "
                "creates for the app itself (fewer)",
            )
        )
    for key, counted in (("per_schedule", "on a schedule"), ("per_route", "the API routes to")):
        if count.get(key) and "function" not in kinds:
            problems.append(
                merged.problem(
                    (*where, key),
                    f"{key} counts functions {counted}, which this backend does not serve "
                    f"(kinds = {list(kinds)})",
                    f"delete {key}, or add function to kinds",
                )
            )
    return problems


def _modes(
    merged: Merged,
    prefix: KeyPath,
    modes: object,
    regions: tuple[str, ...],
    levels: tuple[str, ...] | None,
) -> list[Problem]:
    path = (*prefix, "modes")
    if not isinstance(modes, dict):
        return [
            merged.problem(
                path,
                "modes must be a table keyed by mode name",
                f"write one [{_dotted(path)}.NAME] table per capacity mode",
            )
        ]
    if not modes:
        return [
            merged.problem(
                path,
                "modes is empty",
                f"add a [{_dotted(path)}.NAME] table with its price, or delete modes",
            )
        ]
    problems: list[Problem] = []
    for name, mode in modes.items():
        where = (*path, name)
        if not isinstance(mode, dict):
            continue  # the schema pass says it must be a table
        problems += _keyed(merged, where, mode, "a mode", f"mode {name!r}")
        price = mode.get("price")
        if isinstance(price, dict):
            problems += _price(merged, (*where, "price"), price, regions, server=False)
            problems += _eventual(merged, (*where, "price"), price, levels)
            if "target_utilisation" not in mode:
                problems += _provisioned(merged, (*where, "price"), price, mode=True)
        quotas = [key for key in ("quota_read_units", "quota_write_units") if key in mode]
        if quotas and "target_utilisation" not in mode:
            problems.append(
                merged.problem(
                    (*where, quotas[0]),
                    f"{quotas[0]} counts provisioned capacity units, and mode {name!r} "
                    "provisions none (it has no target_utilisation)",
                    f"add target_utilisation (e.g. 0.7) to [{_dotted(where)}], or delete "
                    f"{' and '.join(quotas)}",
                )
            )
    return problems
