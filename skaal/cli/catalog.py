"""``skaal catalog``: list, show, validate and explain backend catalogs.

Every subcommand loads catalogs through :func:`skaal.catalog.resolve_catalog`
(full validation, ``extends`` resolved) and either prints rich tables or,
with ``--json``, machine-readable data built from the same records.  Invalid
catalogs raise :class:`~skaal.errors.CatalogError`, which the top-level
command prints without a traceback and maps to exit code 2; ``validate
--json`` prints the problems as JSON and exits 2 itself.

``rich`` and the catalog package are imported inside the commands so that
importing this module (to build the command tree) stays cheap.
"""

from __future__ import annotations

import json
import shutil
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from skaal.catalog import Backend, Catalog, Price, ResolvedCatalog, Server

__all__ = ["catalog"]

_REF_HELP = "a bundled catalog name (see 'skaal catalog list') or a path to a .toml file"


def _console() -> Console:
    """A console writing to click's stdout, not wrapping tables at 80 columns when piped."""
    from rich.console import Console

    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = max(shutil.get_terminal_size((140, 24)).columns, 140)
    return console


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def _number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:g}"
    return f"{text} {unit}".rstrip()


def _unit(currency: str, component: str) -> str:
    from skaal.catalog import PRICE_COMPONENTS

    return PRICE_COMPONENTS[component].format(currency=currency)


@click.group(name="catalog")
def catalog() -> None:
    """Inspect and validate backend catalogs (what each backend guarantees and costs)."""


@catalog.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_catalogs(as_json: bool) -> None:
    """List the bundled catalogs."""
    from skaal.catalog import bundled_catalogs, load_catalog
    from skaal.catalog.problems import display_path

    rows = []
    for name, path in bundled_catalogs().items():
        loaded = load_catalog(path)
        rows.append(
            {
                "name": name,
                "provider": loaded.provider,
                "region": loaded.region,
                "backends": len(loaded.backends),
                "classes": sum(len(b.server.classes) for b in loaded.backends if b.server),
                "modes": sum(len(b.modes) for b in loaded.backends),
                "extends": [display_path(s) for s in loaded.sources[:-1]],
                "file": display_path(path),
            }
        )
    if as_json:
        _echo_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    counts = ("backends", "classes", "modes")
    table = Table(title="Bundled catalogs", title_justify="left")
    for column in ("name", "provider", "region", *counts, "file"):
        table.add_column(column, justify="right" if column in counts else "left")
    for row in rows:
        table.add_row(
            *(escape(str(row[c])) for c in ("name", "provider", "region", *counts)),
            escape(str(row["file"])),
        )
    _console().print(table)


@catalog.command(name="show")
@click.argument("ref", metavar="NAME_OR_PATH")
@click.option("--kind", default=None, help="Only backends serving this kind (map, blob, ...).")
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON.")
def show(ref: str, kind: str | None, as_json: bool) -> None:
    """Show the backends of a catalog: guarantees and prices.

    NAME_OR_PATH is a bundled catalog name or a path to a .toml file.
    """
    from skaal.catalog import resolve_catalog

    resolved = resolve_catalog(ref)
    cat = resolved.catalog
    backends = _filter_kind(cat, kind)
    if as_json:
        data = cat.model_dump(mode="json")
        data["backends"] = [b.model_dump(mode="json") for b in backends]
        _echo_json(data)
        return
    console = _console()
    _print_header(console, resolved)
    if not backends:
        console.print(f"no backend serves {kind!r}" if kind else "no backends")
        return
    console.print(_backends_table(cat, backends))


def _filter_kind(cat: Catalog, kind: str | None) -> tuple[Backend, ...]:
    if kind is None:
        return cat.backends
    from skaal.blueprint.model import KINDS
    from skaal.errors import UsageError, did_you_mean

    if kind not in KINDS:
        raise UsageError(
            f"unknown kind {kind!r}{did_you_mean(kind, KINDS)}",
            where="--kind",
            fix=f"use one of: {', '.join(KINDS)}",
        )
    return tuple(b for b in cat.backends if kind in b.kinds)


def _print_header(console: Console, resolved: ResolvedCatalog) -> None:
    from rich.markup import escape

    cat = resolved.catalog
    console.print(
        f"[bold]{escape(cat.name)}[/] ({cat.provider}, prices in {escape(cat.region)}, "
        f"{len(cat.backends)} backends)"
    )
    if cat.description:
        console.print(escape(cat.description))
    console.print(f"files: {escape(' <- '.join(reversed(resolved.chain)))}")


def _backends_table(cat: Catalog, backends: tuple[Backend, ...]) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=True)
    for column in ("backend", "kinds", "read", "write", "durability", "avail.", "capacity"):
        table.add_column(column)
    table.add_column("price")
    for b in backends:
        perf = b.performance
        table.add_row(
            escape(b.name),
            ", ".join(b.kinds),
            _number(perf.read_latency_ms, "ms"),
            _number(perf.write_latency_ms, "ms"),
            perf.durability,
            f"{perf.availability:g}%",
            escape(_capacity_summary(b)),
            escape("\n".join(_price_lines(b))),
        )
    return table


def _capacity_summary(b: Backend) -> str:
    """How a backend is sized: server classes and quota, capacity modes, or per resource."""
    if b.server is not None:
        count = len(b.server.classes)
        return f"server: {count} class{'es' if count > 1 else ''}, {_quota_words(b.server)}"
    if b.modes:
        return "modes: " + ", ".join(m.name for m in b.modes)
    return "per resource"


def _price_lines(b: Backend) -> list[str]:
    currency = b.price.currency
    lines: list[str] = []
    if b.server is not None:
        fees = [c.price.amount for c in b.server.classes]
        low, high = min(fees), max(fees)
        span = f"{low:g}" if low == high else f"{low:g}-{high:g}"
        lines.append(f"{span} {currency}/instance-month")
    if b.modes:
        for mode in b.modes:
            lines.append(f"{mode.name}:")
            lines.extend(f"  {line}" for line in _component_lines(mode.price))
        return lines
    return lines + _component_lines(b.price)


def _component_lines(price: Price) -> list[str]:
    lines = [
        f"{item.amount:g} {_unit(price.currency, name)}" for name, item in price.items().items()
    ]
    if price.eventual_reads is not None:
        lines.append(f"eventual reads at {price.eventual_reads.factor:g} of a strong read")
    if price.index_copies is not None:
        lines.append(f"each secondary index at {price.index_copies.factor:g} of another copy")
    return lines


@catalog.command(name="validate")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def validate(ctx: click.Context, path: str, as_json: bool) -> None:
    """Validate a catalog file fully (schema, extends, prices) and print warnings."""
    from skaal.catalog import resolve_catalog
    from skaal.catalog.problems import CatalogValidationError
    from skaal.errors import CatalogError

    if not as_json:
        resolved = resolve_catalog(path)
        cat = resolved.catalog
        click.echo(
            f"ok: {cat.name} ({cat.provider}): {len(cat.backends)} backends; "
            f"files: {' <- '.join(reversed(resolved.chain))}"
        )
        sized = [b for b in cat.backends if b.server is not None or b.modes]
        if sized:
            _console().print(_sizing_table(sized))
        for warning in resolved.warnings:
            click.echo(f"warning: {warning}")
        return
    try:
        resolved = resolve_catalog(path)
    except CatalogError as exc:
        if isinstance(exc, CatalogValidationError):
            problems = [p.as_dict() for p in exc.problems]
        else:
            problems = [{"message": exc.what, "where": exc.where, "fix": exc.fix}]
        _echo_json({"ok": False, "problems": problems})
        ctx.exit(exc.exit_code)
    cat = resolved.catalog
    _echo_json(
        {
            "ok": True,
            "name": cat.name,
            "provider": cat.provider,
            "backends": list(cat.names()),
            "servers": {
                b.name: _server_json(b.server, b.price.currency)
                for b in cat.backends
                if b.server is not None
            },
            "modes": {b.name: [m.name for m in b.modes] for b in cat.backends if b.modes},
            "counts": {
                b.name: {
                    c.name: {
                        "quota": c.quota,
                        "per_kind": dict(c.per_kind),
                        "per_subscriber": c.per_subscriber,
                        "per_schedule": c.per_schedule,
                        "per_route": c.per_route,
                        "reserved": c.reserved,
                        "scope": c.scope,
                        "adjustable": c.adjustable,
                        "source": c.source,
                    }
                    for c in b.counts
                }
                for b in cat.backends
                if b.counts
            },
            "sources": list(resolved.chain),
            "warnings": list(resolved.warnings),
        }
    )


def _quota_words(server: Server) -> str:
    """``quota 40``, the group it shares (``quota 40 shared as rds-db-instances``), and
    ``in all regions`` when it counts over the account's."""
    shared = f" shared as {server.quota_group}" if server.quota_group else ""
    scope = " in all regions" if server.quota_scope == "account" else ""
    return f"quota {server.quota}{shared}{scope}"


def _server_json(server: Server, currency: str) -> dict[str, object]:
    return {
        "quota": server.quota,
        "quota_group": server.quota_group or None,
        "quota_scope": server.quota_scope,
        "quota_source": server.quota_source,
        "min_disk_gb": server.min_disk_gb,
        "classes": [
            {
                "name": c.name,
                "size_gb": c.size_gb,
                "reads_per_s": c.reads_per_s,
                "writes_per_s": c.writes_per_s,
                "connections": c.connections,
                "resources": c.resources,
                "max_replicas": c.max_replicas,
                "min_replicas": c.min_replicas,
                "quota_units": c.quota_units,
                "price": c.price.amount,
                "price_unit": f"{currency} per instance per month",
            }
            for c in server.classes
        ],
    }


def _sizing_table(backends: list[Backend]) -> Table:
    """One row per instance class or capacity mode of the given backends."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Instance classes and capacity modes", title_justify="left")
    for column in ("backend", "class / mode", "size", "reads/s", "writes/s", "conn.", "price"):
        numeric = column in ("size", "reads/s", "writes/s", "conn.")
        table.add_column(column, justify="right" if numeric else "left")
    for b in backends:
        currency = b.price.currency
        if b.server is not None:
            for i, c in enumerate(b.server.classes):
                first = i == 0
                table.add_row(
                    escape(f"{b.name} ({_quota_words(b.server)})") if first else "",
                    escape(c.name),
                    _number(c.size_gb, "GB"),
                    _number(c.reads_per_s),
                    _number(c.writes_per_s),
                    _number(c.connections),
                    f"{c.price.amount:g} {currency}/month",
                )
        for i, mode in enumerate(b.modes):
            utilisation = mode.target_utilisation
            target = f" (target {utilisation:g})" if utilisation is not None else ""
            table.add_row(
                escape(b.name) if i == 0 else "",
                escape(mode.name + target),
                "-",
                "-",
                "-",
                "-",
                escape("; ".join(_component_lines(mode.price))),
            )
    return table


@catalog.command(name="explain")
@click.argument("ref", metavar="NAME_OR_PATH")
@click.argument("backend_name", metavar="BACKEND")
@click.option("--json", "as_json", is_flag=True, help="Print the backend as JSON.")
def explain(ref: str, backend_name: str, as_json: bool) -> None:
    """Everything about one backend: guarantees, limits, prices and their sources."""
    from skaal.catalog import resolve_catalog
    from skaal.errors import UsageError, did_you_mean

    resolved = resolve_catalog(ref)
    cat = resolved.catalog
    try:
        backend = cat.backend(backend_name)
    except KeyError:
        raise UsageError(
            f"catalog {cat.name!r} has no backend {backend_name!r}"
            f"{did_you_mean(backend_name, cat.names())}",
            fix=f"use one of: {', '.join(cat.names())}",
            command=f"skaal catalog show {ref}",
        ) from None
    origins = resolved.origins.get(backend.name, {})
    if as_json:
        _echo_json(
            {
                "catalog": cat.name,
                "provider": cat.provider,
                "backend": backend.model_dump(mode="json"),
                "price_units": {
                    name: _unit(backend.price.currency, name) for name in backend.price.items()
                },
                "mode_price_units": {
                    mode.name: {
                        name: _unit(mode.price.currency, name) for name in mode.price.items()
                    }
                    for mode in backend.modes
                },
                "defined_in": list(resolved.defined_in(backend.name)),
                "origins": dict(sorted(origins.items())),
            }
        )
        return
    _render_explain(_console(), resolved, backend)


def _render_explain(console: Console, resolved: ResolvedCatalog, b: Backend) -> None:
    from rich.markup import escape

    cat = resolved.catalog
    origins = resolved.origins.get(b.name, {})
    perf = b.performance
    out = console.print
    out(f"[bold]{escape(b.name)}[/] in catalog {escape(cat.name)} ({cat.provider})")
    out(f"  {escape(b.description)}")
    out(f"  kinds: {', '.join(b.kinds)}")
    out(f"  implementation: {escape(b.implementation)}")
    out(f"  regions: {escape(', '.join(b.regions))}")
    out(f"  defined in: {escape(', '.join(resolved.defined_in(b.name)))}")
    out("[bold]Guarantees[/]")
    out(f"  read latency:  {_number(perf.read_latency_ms, 'ms')} (typical p99)")
    out(f"  write latency: {_number(perf.write_latency_ms, 'ms')} (typical p99)")
    out(f"  durability:    {perf.durability}")
    out(f"  consistency:   {', '.join(perf.consistency)}")
    out(f"  availability:  {perf.availability:g}%")
    out("[bold]Limits[/] (per resource)")
    limits = {k: v for k, v in b.limits if v is not None and k != "adjustable"}
    if not limits:
        out("  none (unlimited)")
    for name, value in limits.items():
        quota = " (a provider quota, raised on request)" if name in b.limits.adjustable else ""
        out(f"  {name}: {_number(value, _limit_unit(name))}{quota}")
    out(f"[bold]Capabilities[/]: {escape(', '.join(b.capabilities) or 'none')}")
    out(f"[bold]Network needs[/]: {escape(', '.join(b.requires) or 'none')}")
    if b.server is not None:
        _render_server(console, b, origins)
    for count in b.counts:
        where = {
            "region": "per region",
            "account": "in one account (or project), all regions",
            "app": "per app (what the build creates once for it: its HTTP API)",
        }[count.scope]
        per = count.per_words()
        raised = "a provider quota, raised on request" if count.adjustable else "fixed"
        source = f", {escape(count.source)}" if count.source else ""
        kept = f"; {count.reserved:,} for the build's own" if count.reserved else ""
        out(
            f"[bold]Count quota[/] {escape(count.name)}: {count.quota:,} {where} ({per}{kept}; "
            f"{raised}{source})"
        )
    for mode in b.modes:
        target = mode.target_utilisation
        out(
            f"[bold]Mode {escape(mode.name)}[/]"
            + (f": {escape(mode.description)}" if mode.description else "")
            + (f" (provisioned at rate / {target:g})" if target is not None else "")
        )
        quotas = [
            f"{quota:,} {word} units"
            for word, quota in (("read", mode.quota_read_units), ("write", mode.quota_write_units))
            if quota is not None
        ]
        if quotas:
            source = f", {escape(mode.quota_source)}" if mode.quota_source else ""
            out(
                f"  quota: {' and '.join(quotas)} per region, every resource in this mode "
                f"together (a provider quota, raised on request{source})"
            )
        out(_price_table(mode.price, origins, f"modes.{_key(mode.name)}.price"))
    if b.modes:
        return
    out(f"[bold]Price[/] ({escape(b.price.currency)}, region {escape(b.price.region)})")
    if b.price.items():
        out(_price_table(b.price, origins, "price"))
    else:
        out("  no per-use components (the instance classes carry the fees)")


def _render_server(console: Console, b: Backend, origins: dict[str, str]) -> None:
    from rich.markup import escape
    from rich.table import Table

    server = b.server
    assert server is not None
    out = console.print
    adjustable = "adjustable" if server.quota_adjustable else "not adjustable"
    units = any(c.quota_units != 1 for c in server.classes)
    what = "units (each class's quota_units per node)" if units else "instances"
    out(
        f"[bold]Server[/]: instances shared by many resources; quota {server.quota} "
        f"{what} ({adjustable})"
    )
    if server.quota_group:
        out(
            f"  the quota is shared by every server of quota_group "
            f"{escape(repr(server.quota_group))}: their instances count together"
        )
    if server.quota_scope == "account":
        out("  the quota counts once over every region of the account (quota_scope)")
    if server.quota_source:
        out(f"  quota source: {escape(server.quota_source)}")
    out(f"  disk floor per instance (min_disk_gb): {server.min_disk_gb:g} GB")
    table = Table(title="Instance classes", title_justify="left")
    columns: tuple[str, ...] = ("class", "size", "reads/s", "writes/s", "conn.", "res.")
    columns = (*columns, "replicas", "quota", "price")
    for column in (*columns, "source (as of, file)"):
        table.add_column(column, overflow="fold")
    for c in server.classes:
        item = c.price
        where = f"server.classes.{_key(c.name)}"
        origin = origins.get(f"{where}.price.amount", origins.get(f"{where}.price", "?"))
        source = (
            item.source + (f"\n{item.note}" if item.note else "") + f"\n({item.as_of}, {origin})"
        )
        table.add_row(
            escape(c.name + (f"\n{c.description}" if c.description else "")),
            _number(c.size_gb, "GB"),
            _number(c.reads_per_s),
            _number(c.writes_per_s),
            _number(c.connections),
            _number(c.resources),
            (str(c.max_replicas) if c.min_replicas == 0 else f"{c.min_replicas}-{c.max_replicas}"),
            str(c.quota_units),
            f"{item.amount:g} {escape(b.price.currency)}/month",
            escape(source),
        )
    out(table)


def _key(name: str) -> str:
    from skaal.catalog.positions import dotted

    return dotted((name,))


def _price_table(price: Price, origins: dict[str, str], prefix: str) -> Table:
    from rich.markup import escape
    from rich.table import Table

    table = Table()
    for column in ("component", "amount", "unit", "source", "as of", "file"):
        # URLs fold onto the next line rather than being cut with an ellipsis
        table.add_column(column, overflow="fold")
    for name, item in price.items().items():
        source = item.source + (f"\n{item.note}" if item.note else "")
        table.add_row(
            name,
            f"{item.amount:g}",
            escape(_unit(price.currency, name)),
            escape(source),
            escape(item.as_of),
            escape(origins.get(f"{prefix}.{name}.amount", origins.get(f"{prefix}.{name}", "?"))),
        )
    factors = (
        (
            "eventual_reads",
            price.eventual_reads,
            "share of a strong read's price per eventually consistent read",
        ),
        (
            "index_copies",
            price.index_copies,
            "share of another copy of the table's storage, writes and provisioned capacity "
            "per secondary index",
        ),
    )
    for name, factor, unit in factors:
        if factor is None:
            continue
        table.add_row(
            name,
            f"{factor.factor:g}",
            unit,
            escape(factor.source + (f"\n{factor.note}" if factor.note else "")),
            escape(factor.as_of),
            escape(origins.get(f"{prefix}.{name}.factor", origins.get(f"{prefix}.{name}", "?"))),
        )
    return table


def _limit_unit(name: str) -> str:
    if name.endswith("_gb"):
        return "GB"
    if name.endswith("_per_s"):
        return "per second"
    if name.endswith("_s"):
        return "seconds"
    return ""
