"""The reference pages stay complete: every constraint, catalog field, client method and command.

* ``docs/constraints.md`` documents every keyword of the constraint table with
  exactly the kinds that accept it, and which bundled backends honour it (as
  ``docs/_gen/honoured.py`` computes from the catalogs);
* ``docs/catalogs.md`` documents every field of the catalog records;
* ``docs/clients.md`` documents every public method of the resource classes
  (with every parameter in its heading) and of the clients beneath them;
* ``docs/cli.md`` holds exactly what ``docs/_gen/cli_reference.py`` generates
  from the click commands;
* ``mkdocs.yml`` lists every page.
"""

from __future__ import annotations

import inspect
import re

import pytest

from skaal.blueprint.model import KINDS
from skaal.blueprint.record import Record
from skaal.catalog import model as catalog_model
from skaal.cli.main import COMMANDS
from skaal.declare import resources
from skaal.declare.constraints import CONSTRAINTS
from skaal.runtime import clients
from tests.docs._pages import DOCS, ROOT, generator


def _section(text: str, keyword: str) -> str:
    match = re.search(rf"^### `{keyword}`\n(.*?)(?=^#|\Z)", text, re.DOTALL | re.MULTILINE)
    assert match, f"docs/constraints.md has no section for {keyword!r}"
    return match[1]


@pytest.mark.parametrize("keyword", sorted(CONSTRAINTS))
def test_every_constraint_is_documented_with_its_kinds(keyword: str) -> None:
    section = _section((DOCS / "constraints.md").read_text(encoding="utf-8"), keyword)
    kinds = re.search(r"\*Kinds:\* ([a-z, ]+?) ·", section)
    assert kinds, f"the {keyword} section does not list its kinds"
    expected = [k for k in KINDS if k in CONSTRAINTS[keyword].kinds]
    assert kinds[1].split(", ") == expected


@pytest.mark.parametrize("keyword", sorted(CONSTRAINTS))
def test_every_constraint_says_which_catalogs_honour_it(keyword: str) -> None:
    section = _section((DOCS / "constraints.md").read_text(encoding="utf-8"), keyword)
    assert generator("honoured").honoured(keyword) in section, (
        f"the {keyword} section does not say which bundled backends honour it, or is stale: "
        "run `python docs/_gen/honoured.py`"
    )


def test_honoured_lines_follow_the_feasibility_rules() -> None:
    honoured = generator("honoured")
    assert set(honoured.RULES) == set(CONSTRAINTS)
    line = honoured.honoured("ordered")
    assert "aws: sqs-fifo," in line
    assert " sqs," not in line
    assert "local: not checked" in honoured.honoured("residency")


def test_constraints_doc_has_no_unknown_keywords() -> None:
    text = (DOCS / "constraints.md").read_text(encoding="utf-8")
    assert set(re.findall(r"^### `(\w+)`", text, re.MULTILINE)) == set(CONSTRAINTS)


CATALOG_MODELS = [
    obj
    for obj in vars(catalog_model).values()
    if isinstance(obj, type)
    and issubclass(obj, Record)
    and obj.__module__ == catalog_model.__name__
    and not obj.__name__.startswith("_")
]


@pytest.mark.parametrize("model", CATALOG_MODELS, ids=lambda m: m.__name__)
def test_every_catalog_field_is_documented(model: type[Record]) -> None:
    text = (DOCS / "catalogs.md").read_text(encoding="utf-8")
    missing = [f for f in model.model_fields if f"`{f}`" not in text]
    assert missing == [], f"docs/catalogs.md does not document {model.__name__}: {missing}"


def test_catalog_file_keywords_are_documented() -> None:
    text = (DOCS / "catalogs.md").read_text(encoding="utf-8")
    for key in ("extends", "remove", "remove_backends", "capabilities", "shared"):
        assert f"`{key}`" in text


def _public_methods(cls: type) -> list[str]:
    return sorted(
        name
        for name, value in vars(cls).items()
        if not name.startswith("_")
        and (callable(value) or isinstance(value, classmethod | staticmethod | property))
    )


FACADES = [resources.Map, resources.Collection, resources.BlobStore, resources.Queue]
FACADES += [resources.Topic, resources.Secret]
FACADE_METHODS = [(cls, name) for cls in FACADES for name in _public_methods(cls)]


@pytest.mark.parametrize(
    ("cls", "name"), FACADE_METHODS, ids=[f"{c.__name__}.{n}" for c, n in FACADE_METHODS]
)
def test_every_resource_method_is_documented_with_its_parameters(cls: type, name: str) -> None:
    text = (DOCS / "clients.md").read_text(encoding="utf-8")
    heading = re.search(rf"^### `{cls.__name__}\.{name}\((?P<params>.*)\)`$", text, re.MULTILINE)
    assert heading, f"docs/clients.md has no heading ### `{cls.__name__}.{name}(...)`"
    method = inspect.getattr_static(cls, name)
    function = method.__func__ if isinstance(method, classmethod) else method
    parameters = list(inspect.signature(function).parameters)[1:]
    missing = [p for p in parameters if not re.search(rf"\b{p}\b", heading["params"])]
    assert missing == [], f"the heading of {cls.__name__}.{name} lacks {missing}"


#: The resource class each client serves (its methods are documented there).
CLIENT_FACADES = {
    "MapClient": "Map",
    "CollectionClient": "Collection",
    "BlobClient": "BlobStore",
    "QueueClient": "Queue",
    "TopicClient": "Topic",
}
CLIENT_CLASSES = [getattr(clients, name) for name in clients.__all__]
CLIENT_METHODS = [(cls, name) for cls in CLIENT_CLASSES for name in _public_methods(cls)]


@pytest.mark.parametrize(
    ("cls", "name"), CLIENT_METHODS, ids=[f"{c.__name__}.{n}" for c, n in CLIENT_METHODS]
)
def test_every_client_method_is_documented(cls: type, name: str) -> None:
    text = (DOCS / "clients.md").read_text(encoding="utf-8")
    owners = [cls.__name__, CLIENT_FACADES.get(cls.__name__, cls.__name__)]
    assert any(f"### `{owner}.{name}" in text for owner in owners), (
        f"docs/clients.md documents {cls.__name__}.{name} neither as a client method "
        f"nor on its resource class"
    )


def test_committed_cli_reference_is_generated() -> None:
    reference = generator("cli_reference")
    text = reference.PAGE.read_text(encoding="utf-8")
    assert text == reference.render(text), (
        "docs/cli.md is stale: run `python docs/_gen/cli_reference.py`"
    )


def test_cli_reference_covers_every_command() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name in COMMANDS:
        assert f"### `skaal {name}`" in text


def test_mkdocs_nav_lists_every_page() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted(DOCS.glob("*.md")):
        assert f" {page.name}" in nav, f"mkdocs.yml does not list {page.name}"
