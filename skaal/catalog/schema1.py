"""Reading schema-1 catalog files in the schema-2 shape.

Schema 1 described a server backend (one whose instances many resources
share) by one ``[shared]`` table, the capacity of its only instance size and
``max_instances``, and put the instance fee in ``price.fixed_monthly``.
Schema 2 offers named instance classes under ``[server]``.  Before a
schema-1 file is layered, :func:`upgrade` rewrites its backend tables::

    [backends.X.shared]                    [backends.X.server]
    max_instances = 4           ->         quota = 4                   (default 1)
    size_gb, reads_per_s,       ->         [backends.X.server.classes.standard]
    writes_per_s, resources                  the same figures
    [backends.X.price]
    fixed_monthly = {...}       ->           price = {...}  (leaves the backend's price)

and ``remove`` paths the same way (``"shared"`` -> ``"server"``,
``"shared.size_gb"`` -> ``'server.classes.standard.size_gb'``).  The server
gets ``min_disk_gb = 0``, so a converted catalog plans exactly what it planned
before: one class, at most ``max_instances`` instances, the same fee.

A schema-1 file may extend a schema-2 catalog.  Its ``max_instances`` then
sets the inherited server's ``quota``; a capacity figure or an instance fee
for a backend whose inherited classes have no ``standard`` class has no
meaning and is a problem asking for a schema-2 file.  :class:`Upgrade` maps
every rewritten key back to the key as written (``aliases``), so problems
point at the user's line.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from msgspec import Struct

from skaal.catalog.positions import KeyPath, dotted, split_dotted

__all__ = ["STANDARD", "Upgrade", "upgrade"]

#: The name of the one class a schema-1 ``[shared]`` table becomes.
STANDARD = "standard"


class Upgrade(Struct, frozen=True):
    """A schema-1 file's data in the schema-2 shape."""

    data: dict[str, Any]
    #: rewritten key path -> the key path as written in the file
    aliases: dict[KeyPath, KeyPath]
    #: (key path as written, message, fix) for what cannot be converted
    problems: tuple[tuple[KeyPath, str, str], ...]


def upgrade(data: Mapping[str, Any], inherited: Mapping[str, Any]) -> Upgrade:
    """``data`` (one schema-1 file) rewritten; ``inherited`` is the merged backends below it."""
    result = copy.deepcopy(dict(data))
    aliases: dict[KeyPath, KeyPath] = {}
    problems: list[tuple[KeyPath, str, str]] = []
    backends = result.get("backends")
    removed = result.get("remove_backends")
    dropped = set(removed) if isinstance(removed, list) else set()
    if isinstance(backends, dict):
        for name, table in backends.items():
            if isinstance(table, dict):
                base = None if name in dropped else inherited.get(name)
                _backend(name, table, base, aliases, problems)
    return Upgrade(data=result, aliases=aliases, problems=tuple(problems))


def _backend(
    name: str,
    table: dict[str, Any],
    base: object,
    aliases: dict[KeyPath, KeyPath],
    problems: list[tuple[KeyPath, str, str]],
) -> None:
    prefix: KeyPath = ("backends", name)
    base_server = base.get("server") if isinstance(base, dict) else None
    remove = table.get("remove")
    if isinstance(remove, list) and ("shared" in remove or "server" in remove):
        base_server = None  # removed before this file's tables merge
    base_classes = base_server.get("classes") if isinstance(base_server, dict) else None
    # inherited schema-2 classes: schema-1 figures cannot say which class they mean
    foreign = tuple(base_classes) if isinstance(base_classes, dict) else ()
    if STANDARD in foreign:
        foreign = ()
    migrate = (
        f"write this file with schema_version = 2 and set the figures in "
        f"[backends.{name}.server.classes.NAME] (classes: {', '.join(foreign)})"
    )
    shared = table.pop("shared", None)
    if shared is not None and not isinstance(shared, dict):
        problems.append(
            (
                (*prefix, "shared"),
                "shared must be a table",
                f"write a [backends.{name}.shared] table, or schema 2's [backends.{name}.server]",
            )
        )
        shared = None
    is_server = shared is not None or base_server is not None
    if shared is not None:
        server: dict[str, Any] = {}
        aliases[(*prefix, "server")] = (*prefix, "shared")
        if "max_instances" in shared:
            server["quota"] = shared.pop("max_instances")
            aliases[(*prefix, "server", "quota")] = (*prefix, "shared", "max_instances")
        elif base_server is None:
            server["quota"] = 1  # schema 1's default max_instances
        if shared and foreign:
            problems.append(
                (
                    (*prefix, "shared"),
                    f"schema-1 [shared] capacity cannot apply to {name!r}: the catalog it "
                    "extends gives it named instance classes",
                    migrate,
                )
            )
        elif shared or base_server is None:
            server["classes"] = {STANDARD: shared}
            aliases[(*prefix, "server", "classes", STANDARD)] = (*prefix, "shared")
        table["server"] = server
    price = table.get("price")
    if is_server and isinstance(price, dict) and "fixed_monthly" in price:
        if foreign:
            problems.append(
                (
                    (*prefix, "price", "fixed_monthly"),
                    f"a schema-1 instance fee (fixed_monthly) cannot apply to {name!r}: "
                    "the catalog it extends prices each of its instance classes",
                    migrate,
                )
            )
        else:
            classes = table.setdefault("server", {}).setdefault("classes", {})
            classes.setdefault(STANDARD, {})["price"] = price.pop("fixed_monthly")
            aliases[(*prefix, "server", "classes", STANDARD, "price")] = (
                *prefix,
                "price",
                "fixed_monthly",
            )
    if shared is not None and base_server is None:
        standard = table["server"]["classes"][STANDARD]
        if isinstance(standard, dict) and "price" not in standard:
            problems.append(
                (
                    (*prefix, "shared"),
                    f"shared backend {name!r} has no price.fixed_monthly, the fee of one instance",
                    f'add fixed_monthly = {{ amount = ..., source = "https://...", as_of = '
                    f'"YYYY-MM-DD" }} to [backends.{name}.price] (amount = 0.0 for a free server)',
                )
            )
    if isinstance(remove, list):
        table["remove"] = [_removal(r, is_server) if isinstance(r, str) else r for r in remove]


def _removal(path: str, is_server: bool) -> str:
    """A schema-1 ``remove`` path in the schema-2 shape."""
    parts = split_dotted(path)
    if parts is None:
        return path
    if parts[0] == "shared":
        if parts[1:] == ("max_instances",):
            return "server.quota"
        rest = ("classes", STANDARD, *parts[1:]) if len(parts) > 1 else ()
        return dotted(("server", *rest))
    if is_server and parts[:2] == ("price", "fixed_monthly"):
        return dotted(("server", "classes", STANDARD, "price", *parts[2:]))
    return path
