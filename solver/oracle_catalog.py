"""The oracle's own reading of a catalog file: TOML in, plain records out.

:mod:`solver.oracle` checks the planner against a second, independent
statement of the planning rules, so it does not use the planner's catalog
loader or models either: this module reads the schema-2 TOML itself with
:mod:`tomllib` and keeps only what feasibility and cost need.

What it reads (the format of ``catalogs/*.toml``)::

    [backends.NAME]                 implementation, kinds, regions, capabilities
    [backends.NAME.performance]     read/write_latency_ms, durability,
                                    consistency, availability
    [backends.NAME.limits]          max_* per resource (missing: unlimited)
    [backends.NAME.price]           the price components, each { amount, ... },
                                    eventual_reads = { factor, ... } and
                                    index_copies = { factor, ... }
    [backends.NAME.modes.MODE]      target_utilisation, and [...MODE.price]
    [backends.NAME.server]          quota, quota_group, quota_scope, min_disk_gb,
                                    and per instance size
    [backends.NAME.server.classes.CLASS]
                                    price = { amount }, size_gb, reads_per_s,
                                    writes_per_s, resources, max_replicas,
                                    min_replicas, quota_units

``quota_group`` names the quota a server shares with the others naming it
(missing or empty: its own, named after the backend); each member states the group's
``quota``, and a file where two members state different ones raises
:class:`CatalogNotReadError`.  ``quota_units`` is what one node of the class
uses of that quota (missing: 1).  ``quota_scope = "account"`` counts the
quota once over every region (missing or ``"region"``: in each region).

``extends`` is followed in its simplest form, which is all the bundled
catalogs use (``local-servers`` extends ``local`` and only adds backends):
the base's backends come first, then the extending file's; a backend table
defined in both is merged key by key.  ``remove`` and ``remove_backends``
are not read: a file using them raises :class:`CatalogNotReadError`.  Schema 1
files are refused the same way (the bundled catalogs are schema 2).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLED",
    "CatalogData",
    "CatalogNotReadError",
    "Entry",
    "InstanceSize",
    "ModePrice",
    "ServerData",
    "read_catalog",
]

#: The bundled catalogs: ``catalogs/`` at the top of the repository.
BUNDLED = Path(__file__).resolve().parent.parent / "catalogs"


class CatalogNotReadError(Exception):
    """The file uses something this reader does not implement."""


@dataclass(frozen=True, slots=True)
class ModePrice:
    """One way a backend is billed: its price components and, if provisioned, the target."""

    name: str | None
    amounts: dict[str, float]
    """Component name (``per_gb_month``...) → amount."""
    target_utilisation: float | None
    eventual_factor: float | None = None
    """What an eventually consistent read costs, as a share of a strong one (``None``: the same)."""
    index_copies: float | None = None
    """What each secondary index of a collection is billed, as a share of another copy of the
    table (``None``: nothing)."""
    quota_read_units: int | None = None
    """Read units one account may provision per region in this mode, all resources together
    (each index counting as its table again)."""
    quota_write_units: int | None = None
    """Likewise for write units."""

    @property
    def quoted(self) -> bool:
        """Whether the mode has a regional quota on what is provisioned in it."""
        return self.quota_read_units is not None or self.quota_write_units is not None


@dataclass(frozen=True, slots=True)
class InstanceSize:
    """One instance class of a server backend."""

    name: str
    price: float
    size_gb: float | None
    reads_per_s: float | None
    writes_per_s: float | None
    resources: int | None
    max_replicas: int
    min_replicas: int = 0
    """Replicas every instance of the class runs (a replication group by definition)."""
    quota_units: int = 1
    """What one node of the class uses of its server's quota (an instance has ``1 + replicas``)."""


@dataclass(frozen=True, slots=True)
class ServerData:
    classes: tuple[InstanceSize, ...]
    quota: int
    min_disk_gb: float
    quota_group: str
    """The quota it counts against: its own backend's name unless it shares one."""
    per_region: bool = True
    """Whether that quota counts in each region, else once over all of them."""


@dataclass(frozen=True, slots=True)
class CountLimit:
    """How many of one thing (tables, topics) one account holds, and each kind creates."""

    name: str
    quota: int
    per_kind: dict[str, int]
    """How many one resource of each kind creates."""
    per_region: bool
    """Whether it counts in each region, else once over the account (or the app)."""
    per_subscriber: int = 0
    """How many more a topic creates per function subscribed to it."""
    per_schedule: int = 0
    """How many more a function on a schedule creates."""
    per_route: int = 0
    """How many more a function the app's HTTP API routes to creates."""
    reserved: int = 0
    """How many the build creates for the app itself: the resources share the rest."""

    def made_by(
        self, kind: str, *, scheduled: bool = False, subscribers: int = 0, routed: bool = False
    ) -> int:
        """How many one resource of ``kind`` creates: a function on a schedule when
        ``scheduled``, a topic with ``subscribers`` functions subscribed, a function the
        HTTP API routes to when ``routed``."""
        more = (self.per_schedule if scheduled else 0) + self.per_subscriber * subscribers
        return self.per_kind.get(kind, 0) + more + (self.per_route if routed else 0)


@dataclass(frozen=True, slots=True)
class Entry:
    """One backend, as the rules need it."""

    name: str
    implementation: str
    kinds: frozenset[str]
    regions: tuple[str, ...]
    capabilities: frozenset[str]
    read_latency_ms: float | None
    write_latency_ms: float | None
    durability: str
    consistency: frozenset[str]
    availability: float
    limits: dict[str, float]
    price: dict[str, float]
    """The backend's own ``[price]`` components."""
    modes: tuple[ModePrice, ...]
    """How it may be billed: its modes, or its ``price`` as the one mode ``None``."""
    server: ServerData | None
    needs_vpc: bool = False
    """``requires`` names ``vpc``: on aws its functions then run behind a NAT gateway."""
    counts: tuple[CountLimit, ...] = ()
    """The provider's quotas on how many of what the backend creates an account holds."""


@dataclass(frozen=True, slots=True)
class CatalogData:
    name: str
    provider: str
    region: str
    backends: tuple[Entry, ...]


def read_catalog(ref: str | Path) -> CatalogData:
    """Read a bundled catalog by name (``"aws"``) or a ``.toml`` path."""
    return _catalog(_merged(_path(ref)))


def _path(ref: str | Path, relative_to: Path | None = None) -> Path:
    text = str(ref)
    if text.endswith(".toml") or "/" in text:
        path = Path(text)
        if relative_to is not None and not path.is_absolute():
            path = relative_to.parent / path
        return path
    return BUNDLED / f"{text}.toml"


def _merged(path: Path) -> dict[str, Any]:
    data = tomllib.loads(path.read_text())
    if data.get("schema_version") != 2:
        raise CatalogNotReadError(f"{path}: only schema_version 2 is read")
    if "remove_backends" in data or any(
        "remove" in table for table in data.get("backends", {}).values()
    ):
        raise CatalogNotReadError(f"{path}: remove and remove_backends are not read")
    parent = data.get("extends")
    if parent is None:
        return data
    base = _merged(_path(parent, relative_to=path))
    merged = {**base, **{k: v for k, v in data.items() if k not in ("backends", "extends")}}
    backends = dict(base.get("backends", {}))
    for name, table in data.get("backends", {}).items():
        backends[name] = _deep_merge(backends.get(name, {}), table)
    merged["backends"] = backends
    return merged


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _amounts(table: dict[str, Any]) -> dict[str, float]:
    return {
        key: float(value["amount"])
        for key, value in table.items()
        if isinstance(value, dict) and "amount" in value
    }


def _factor(price: dict[str, Any], name: str = "eventual_reads") -> float | None:
    found = price.get(name)
    return None if found is None else float(found["factor"])


def _catalog(data: dict[str, Any]) -> CatalogData:
    region = str(data["region"])
    entries = []
    for name, table in data["backends"].items():
        perf = table["performance"]
        price = _amounts(table.get("price", {}))
        modes = tuple(
            ModePrice(
                mode_name,
                _amounts(mode["price"]),
                None if "target_utilisation" not in mode else float(mode["target_utilisation"]),
                _factor(mode["price"]),
                _factor(mode["price"], "index_copies"),
                quota_read_units=mode.get("quota_read_units"),
                quota_write_units=mode.get("quota_write_units"),
            )
            for mode_name, mode in table.get("modes", {}).items()
        ) or (
            ModePrice(
                None,
                price,
                None,
                _factor(table.get("price", {})),
                _factor(table.get("price", {}), "index_copies"),
            ),
        )
        server = None
        if "server" in table:
            srv = table["server"]
            server = ServerData(
                classes=tuple(
                    InstanceSize(
                        name=class_name,
                        price=float(item["price"]["amount"]),
                        size_gb=item.get("size_gb"),
                        reads_per_s=item.get("reads_per_s"),
                        writes_per_s=item.get("writes_per_s"),
                        resources=item.get("resources"),
                        max_replicas=int(item.get("max_replicas", 0)),
                        min_replicas=int(item.get("min_replicas", 0)),
                        quota_units=int(item.get("quota_units", 1)),
                    )
                    for class_name, item in srv["classes"].items()
                ),
                quota=int(srv["quota"]),
                min_disk_gb=float(srv.get("min_disk_gb", 0.0)),
                quota_group=str(srv.get("quota_group") or name),
                per_region=srv.get("quota_scope", "region") != "account",
            )
        entries.append(
            Entry(
                name=name,
                implementation=str(table["implementation"]),
                kinds=frozenset(table["kinds"]),
                regions=tuple(table.get("regions") or (region,)),
                capabilities=frozenset(table.get("capabilities", ())),
                read_latency_ms=perf.get("read_latency_ms"),
                write_latency_ms=perf.get("write_latency_ms"),
                durability=perf["durability"],
                consistency=frozenset(perf.get("consistency", ("eventual",))),
                availability=float(perf["availability"]),
                limits={
                    k: float(v) for k, v in table.get("limits", {}).items() if k != "adjustable"
                },
                price=price,
                modes=modes,
                server=server,
                needs_vpc="vpc" in table.get("requires", ()),
                counts=tuple(
                    CountLimit(
                        name=count_name,
                        quota=int(count["quota"]),
                        per_kind={str(k): int(v) for k, v in count["per_kind"].items()},
                        per_region=count.get("scope", "region") == "region",
                        per_subscriber=int(count.get("per_subscriber", 0)),
                        per_schedule=int(count.get("per_schedule", 0)),
                        per_route=int(count.get("per_route", 0)),
                        reserved=int(count.get("reserved", 0)),
                    )
                    for count_name, count in table.get("counts", {}).items()
                ),
            )
        )
    _check_groups(entries)
    return CatalogData(
        name=str(data["name"]),
        provider=str(data["provider"]),
        region=region,
        backends=tuple(entries),
    )


def _check_groups(entries: list[Entry]) -> None:
    """Every member of a quota group states the same quota."""
    quotas: dict[str, dict[int, list[str]]] = {}
    for entry in entries:
        if entry.server is not None:
            group = quotas.setdefault(entry.server.quota_group, {})
            group.setdefault(entry.server.quota, []).append(entry.name)
    for group_name, stated in quotas.items():
        if len(stated) > 1:
            shown = "; ".join(f"{', '.join(names)}: {q}" for q, names in sorted(stated.items()))
            raise CatalogNotReadError(f"quota group {group_name} states several quotas ({shown})")
