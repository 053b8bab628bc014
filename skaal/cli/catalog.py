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

    from skaal.catalog import Backend, Catalog, ResolvedCatalog

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
                "extends": [display_path(s) for s in loaded.sources[:-1]],
                "file": display_path(path),
            }
        )
    if as_json:
        _echo_json(rows)
        return
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Bundled catalogs", title_justify="left")
    for column in ("name", "provider", "region", "backends", "file"):
        table.add_column(column, justify="right" if column == "backends" else "left")
    for row in rows:
        table.add_row(
            *(escape(str(row[c])) for c in ("name", "provider", "region", "backends")),
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
    for column in ("backend", "kinds", "read", "write", "durability", "avail.", "shared"):
        table.add_column(column)
    table.add_column("price")
    for b in backends:
        perf = b.performance
        price_lines = [
            f"{item.amount:g} {_unit(b.price.currency, name)}"
            for name, item in b.price.items().items()
        ]
        table.add_row(
            escape(b.name),
            ", ".join(b.kinds),
            _number(perf.read_latency_ms, "ms"),
            _number(perf.write_latency_ms, "ms"),
            perf.durability,
            f"{perf.availability:g}%",
            _shared_summary(b),
            escape("\n".join(price_lines)),
        )
    return table


def _shared_summary(b: Backend) -> str:
    if b.shared is None:
        return "no"
    return f"yes (max {b.shared.max_instances})"


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
            "sources": list(resolved.chain),
            "warnings": list(resolved.warnings),
        }
    )


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
                "defined_in": list(resolved.defined_in(backend.name)),
                "origins": dict(sorted(origins.items())),
            }
        )
        return
    _render_explain(_console(), resolved, backend)


def _render_explain(console: Console, resolved: ResolvedCatalog, b: Backend) -> None:
    from rich.markup import escape
    from rich.table import Table

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
    limits = {k: v for k, v in b.limits if v is not None}
    if not limits:
        out("  none (unlimited)")
    for name, value in limits.items():
        out(f"  {name}: {_number(value, _limit_unit(name))}")
    out(f"[bold]Capabilities[/]: {escape(', '.join(b.capabilities) or 'none')}")
    out(f"[bold]Network needs[/]: {escape(', '.join(b.requires) or 'none')}")
    if b.shared is None:
        out("[bold]Shared[/]: no (one instance per resource)")
    else:
        out("[bold]Shared[/]: yes; capacity of one instance:")
        for name, value in b.shared:
            if value is not None:
                out(f"  {name}: {_number(value, _limit_unit(name))}")
    out(f"[bold]Price[/] ({escape(b.price.currency)}, region {escape(b.price.region)})")
    table = Table()
    for column in ("component", "amount", "unit", "source", "as of", "file"):
        # URLs fold onto the next line rather than being cut with an ellipsis
        table.add_column(column, overflow="fold")
    for name, item in b.price.items().items():
        source = item.source + (f"\n{item.note}" if item.note else "")
        table.add_row(
            name,
            f"{item.amount:g}",
            escape(_unit(b.price.currency, name)),
            escape(source),
            escape(item.as_of),
            escape(origins.get(f"price.{name}.amount", origins.get(f"price.{name}", "?"))),
        )
    out(table)


def _limit_unit(name: str) -> str:
    if name.endswith("_gb"):
        return "GB"
    if name.endswith("_per_s"):
        return "per second"
    if name.endswith("_s"):
        return "seconds"
    return ""
