"""``skaal init NAME``: scaffold a project that runs and passes its test right away.

The files come from :func:`skaal.scaffold.project_files` (a pure function of
the name); this command only checks the target folder and writes them.  The
folder is ``./NAME`` unless ``--dir`` says otherwise; it may exist but must
be empty, so ``skaal init`` never overwrites anything.  Every refusal is a
:class:`~skaal.errors.UsageError` (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from skaal.errors import UsageError

__all__ = ["init"]


def _target(name: str, directory: str | None) -> Path:
    target = (Path.cwd() / (directory if directory is not None else name)).resolve()
    if target.exists() and not target.is_dir():
        raise UsageError(
            f"{target} exists and is not a folder",
            where=str(target),
            fix="pick another place: skaal init NAME --dir PATH",
        )
    if target.is_dir() and any(target.iterdir()):
        raise UsageError(
            f"{target} is not empty; skaal init only writes into a new or empty folder",
            where=str(target),
            fix=f"pick another folder (skaal init {name} --dir PATH) or empty this one",
        )
    return target


@click.command("init")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    metavar="PATH",
    help="Folder to create the project in [default: ./NAME].",
)
def init(*, name: str, directory: str | None) -> None:
    """Create a new Skaal project NAME: app, test, pyproject and README.

    NAME names the app and its cloud resources: lower-case letters, digits
    and dashes (e.g. my-shop); the Python package is NAME with underscores.
    """
    from skaal.scaffold import package_name, project_files

    files = project_files(name)
    target = _target(name, directory)
    for relative, content in sorted(files.items()):
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    try:
        shown = target.relative_to(Path.cwd().resolve())
    except ValueError:
        shown = target
    click.echo(f"Created {name} in {shown}/ (app: {package_name(name)}.app:app)")
    for relative in sorted(files):
        click.echo(f"  {relative}")
    click.echo("\nNext:")
    click.echo(f"  cd {shown}")
    click.echo("  pip install -e '.[dev]'  # in the environment where Skaal is installed")
    click.echo("  python -m pytest        # the generated test")
    click.echo("  skaal run               # then open http://127.0.0.1:8000/docs")
