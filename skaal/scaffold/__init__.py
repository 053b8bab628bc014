"""The files of a new Skaal project, as text: what ``skaal init NAME`` writes.

:func:`project_files` is a pure function from a project name to a mapping of
relative paths to file contents; :mod:`skaal.cli.init` validates the target
folder and writes them.  The templates live in :mod:`skaal.scaffold.templates`
as plain strings with ``{name}``, ``{package}`` and ``{version}`` fields, so
what a new project looks like can be read in one place.

The generated project is a real app that runs and tests right away::

    pyproject.toml      dependencies = ["skaal[serve]>=<this version>"],
                        [tool.skaal] app = "<package>.app:app"
    <package>/app.py    a persistent Map counter and one HTTP function
    tests/test_app.py   a test through skaal.testing.AppClient
    README.md, .gitignore

A project name is also the app's name (it names cloud resources), so it
follows :class:`~skaal.App`'s rule: 2-40 lower-case letters, digits and
dashes, starting with a letter.  The Python package is the name with dashes
turned into underscores, and must not shadow a standard-library module or
Skaal itself.
"""

from __future__ import annotations

import keyword
import re
import sys

from skaal._version import __version__
from skaal.errors import UsageError
from skaal.scaffold import templates

__all__ = ["check_name", "package_name", "project_files"]

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
_RESERVED = frozenset({"skaal", "tests", "test", "app"})


def package_name(name: str) -> str:
    """The Python package of project ``name`` (``my-shop`` -> ``my_shop``)."""
    return name.replace("-", "_")


def check_name(name: str) -> None:
    """Raise a :class:`UsageError` unless ``name`` can name both the app and its package."""
    if not _NAME.match(name) or "--" in name:
        raise UsageError(
            f"{name!r} is not a valid project name",
            where="skaal init NAME",
            fix="use 2-40 lower-case letters, digits and single dashes, starting with a "
            "letter and not ending with a dash (it names the app and its cloud resources), "
            "e.g. skaal init my-shop",
        )
    package = package_name(name)
    if keyword.iskeyword(package) or package in sys.stdlib_module_names or package in _RESERVED:
        raise UsageError(
            f"project name {name!r} would make a Python package {package!r} that shadows "
            "a module of the same name",
            where="skaal init NAME",
            fix=f"pick another name, e.g. skaal init {name}-app",
        )


def project_files(name: str) -> dict[str, str]:
    """Relative path -> content of every file of a new project called ``name``."""
    check_name(name)
    package = package_name(name)
    fields = {"name": name, "package": package, "version": __version__}
    return {
        "pyproject.toml": templates.PYPROJECT.format(**fields),
        "README.md": templates.README.format(**fields),
        ".gitignore": templates.GITIGNORE,
        f"{package}/__init__.py": templates.PACKAGE_INIT.format(**fields),
        f"{package}/app.py": templates.APP.format(**fields),
        "tests/test_app.py": templates.TEST_APP.format(**fields),
    }
