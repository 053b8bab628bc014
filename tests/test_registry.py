"""The implementation records (:mod:`skaal.registry`) are true of the code that reads them.

Plan ⇒ runnable: the solver only chooses backends whose implementation is
registered for the kind and provider, so each record's runtime factory must
import and hand out a store of the right port for exactly the record's kinds.
Plan ⇒ buildable and priced: every package a record names can be installed
from Skaal's own extras, every network component it names has a price, every
naming rule exists.  Unknown names, and records that point at nothing, fail
with the name, the known ones and what to change.
"""

from __future__ import annotations

import ast
import asyncio
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skaal.blueprint.model import Kind, ResourceSpec, SourceLocation
from skaal.catalog import bundled_catalogs, load_catalog
from skaal.errors import BuildError, SkaalRuntimeError
from skaal.plan.naming import as_service
from skaal.plan.network import PRICED, vpc_lines
from skaal.registry import DEFAULT_REGISTRY, Implementation, Network, Registry
from skaal.runtime import ports
from skaal.runtime.backends import FACTORIES, create_provider, factories_of
from skaal.runtime.errors import UnsupportedKindError
from skaal.runtime.ports import BackendSettings, Provider

ROOT = Path(__file__).resolve().parents[1]
RECORDS = sorted(DEFAULT_REGISTRY, key=lambda i: i.name)
RUNNABLE = [i for i in RECORDS if i.runtime is not None]

#: Each data kind: how a provider hands out its store, and the port the store implements.
STORES: dict[Kind, tuple[Callable[[Provider, ResourceSpec], object], type]] = {
    "map": (lambda p, s: p.key_value(s), ports.KeyValueBackend),
    "collection": (lambda p, s: p.documents(s), ports.DocumentBackend),
    "blob": (lambda p, s: p.blobs(s), ports.BlobBackend),
    "queue": (lambda p, s: p.queue(s), ports.QueueBackend),
    "topic": (lambda p, s: p.topic(s), ports.TopicBackend),
    "secret": (lambda p, _: p.secrets(), ports.SecretBackend),
}

#: Emulator addresses nothing listens on: the Google clients are created, never called.
_OFFLINE = {
    "FIRESTORE_EMULATOR_HOST": "127.0.0.1:9",
    "STORAGE_EMULATOR_HOST": "http://127.0.0.1:9",
    "PUBSUB_EMULATOR_HOST": "127.0.0.1:9",
    "GOOGLE_CLOUD_PROJECT": "registry-test",
}


def _settings(tmp_path: Path) -> BackendSettings:
    return BackendSettings(
        app="registry",
        data_dir=tmp_path / "data",
        project_dir=tmp_path,
        env=dict(_OFFLINE),
        clock=lambda: 1_800_000_000.0,
    )


def _methods(port: type) -> set[str]:
    return {n for n, v in vars(port).items() if callable(v) and not n.startswith("_")}


def _ids(records: list[Implementation]) -> list[str]:
    return [r.name for r in records]


# -- runtime ---------------------------------------------------------------------------


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_a_data_implementation_names_a_runtime_factory_and_a_function_none(
    record: Implementation,
) -> None:
    # a function implementation is the serving process itself
    if record.kinds == {"function"}:
        assert record.runtime is None
    else:
        assert record.runtime is not None
        assert record.name in FACTORIES


@pytest.mark.parametrize("record", RUNNABLE, ids=_ids(RUNNABLE))
def test_the_factory_builds_a_store_for_exactly_the_record_s_kinds(
    record: Implementation, tmp_path: Path
) -> None:
    async def check() -> None:
        provider = create_provider(record.name, _settings(tmp_path))
        server = record.connection is not None  # a server is connected on open: not here
        if not server:
            await provider.open()
        for kind, (store_of, port) in STORES.items():
            spec = ResourceSpec(
                name="Items", kind=kind, location=SourceLocation(file="t.py", line=1)
            )
            if kind not in record.kinds:
                with pytest.raises(UnsupportedKindError, match=f"(?m)does not serve a {kind}$"):
                    store_of(provider, spec)
                continue
            store = store_of(provider, spec)
            missing = {m for m in _methods(port) if not callable(getattr(store, m, None))}
            assert missing == set(), f"{record.name} {kind} store lacks {sorted(missing)}"
        if not server:
            await provider.close()

    asyncio.run(check())


@pytest.fixture
def tape_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where to write ``tape_backend.py``, importable for one test and forgotten after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path / "tape_backend.py"
    sys.modules.pop("tape_backend", None)


def _registry_with(module: Path, source: str) -> Registry:
    module.write_text(source, encoding="utf-8")
    return Registry.of(
        [
            Implementation(
                "tape",
                frozenset({"blob"}),
                frozenset({"local"}),
                "a tape drive",
                runtime="tape_backend:TapeProvider",
                packages=("tapelib",),
            )
        ]
    )


@pytest.mark.parametrize(
    ("source", "message", "fix"),
    [
        (
            "import tapelib_not_installed\n",
            "the tape backend needs 'tapelib_not_installed', which is not installed",
            "pip install tapelib",
        ),
        (
            "class Other: ...\n",
            "names 'TapeProvider', which module tape_backend does not define",
            "correct the record's runtime",
        ),
    ],
)
def test_a_factory_that_cannot_be_imported_says_what_to_install_or_correct(
    tmp_path: Path, tape_module: Path, source: str, message: str, fix: str
) -> None:
    factories = factories_of(_registry_with(tape_module, source))
    with pytest.raises(SkaalRuntimeError) as caught:
        create_provider("tape", _settings(tmp_path), factories=factories)
    assert message in caught.value.what
    assert caught.value.where == "implementation tape (runtime tape_backend:TapeProvider)"
    assert caught.value.fix is not None
    assert fix in caught.value.fix


def test_a_factory_naming_a_missing_module_says_so(tmp_path: Path) -> None:
    record = Implementation(
        "tape", frozenset({"blob"}), frozenset({"local"}), "", runtime="skaal.runtime.nope:X"
    )
    factories = factories_of(Registry.of([record]))
    with pytest.raises(SkaalRuntimeError, match=r"names module 'skaal\.runtime\.nope'"):
        create_provider("tape", _settings(tmp_path), factories=factories)


# -- lookups -----------------------------------------------------------------------------


def test_an_unknown_name_fails_with_the_stage_s_error_and_the_known_names() -> None:
    with pytest.raises(BuildError) as caught:
        DEFAULT_REGISTRY.require("dynamo", error=BuildError, where="resource Carts")
    assert caught.value.what.startswith(
        "no backend implementation is named 'dynamo' (did you mean 'dynamodb'?); known: "
    )
    assert ", ".join(DEFAULT_REGISTRY.names()) in caught.value.what
    assert caught.value.where == "resource Carts"
    assert caught.value.command == "skaal plan"


def test_an_unknown_name_has_no_connection_network_or_provisioning() -> None:
    assert DEFAULT_REGISTRY.connection("tape") is None
    assert DEFAULT_REGISTRY.network("tape", "aws") == Network()
    assert DEFAULT_REGISTRY.provisioning("tape", "aws").parameters == ()


# -- packages ----------------------------------------------------------------------------


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _installable() -> set[str]:
    """Every distribution ``pip install 'skaal[...]'`` can bring (``dev`` is not for users)."""
    project: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = {k: v for k, v in project["optional-dependencies"].items() if k != "dev"}
    declared = [*project["dependencies"], *(r for group in extras.values() for r in group)]
    return {_normalise(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in declared}


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_every_package_a_record_names_is_a_dependency_or_extra_of_skaal(
    record: Implementation,
) -> None:
    assert {_normalise(p) for p in record.packages} - _installable() == set()


# -- network, provisioning, connection, naming -------------------------------------------


@pytest.mark.parametrize("provider", ["local", "aws", "gcp"])
def test_one_vpc_per_provider_priced_alike_whichever_implementation_needs_it(
    provider: Any,
) -> None:
    vpc = {r.network[provider].priced for r in RECORDS if r.network.get(provider, Network()).vpc}
    assert len(vpc) <= 1, f"{provider}: implementations price its VPC differently: {vpc}"
    priced = set(next(iter(vpc), ()))
    assert priced <= set(PRICED)
    assert {line.component for line in vpc_lines(provider)} == priced


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_a_record_s_network_and_provisioning_are_for_its_own_providers(
    record: Implementation,
) -> None:
    assert set(record.network) <= record.providers
    assert set(record.provisioning) <= record.providers
    for network in record.network.values():
        assert network.vpc == bool(network.priced), "a VPC is never free, nothing else costs"
    if record.provisioning:  # only a server is sized by the plan
        assert record.connection is not None


@pytest.mark.parametrize("record", RECORDS, ids=_ids(RECORDS))
def test_what_a_record_keeps_is_for_its_own_providers_and_alike_wherever_backed_up(
    record: Implementation,
) -> None:
    assert set(record.keeping) <= record.providers
    assert "local" not in record.keeping  # the local target keeps nothing of its own
    backups = {
        (k.backup_days, k.backup_ephemeral) for k in record.keeping.values() if k.backup_days
    }
    assert len(backups) <= 1, "pricing reads one backup rule per implementation"
    for kept in record.keeping.values():
        if kept.logs_days is not None:
            assert record.kinds == {"function"}
        if kept.messages_default_s is not None or kept.dead_letters_s is not None:
            assert record.kinds <= {"queue", "topic"}
        if kept.versions_days is not None:
            assert record.kinds == {"blob"}


def test_connection_variables_are_distinct_skaal_variables() -> None:
    variables = [
        v for r in RECORDS if r.connection for v in (r.connection.url, r.connection.pool_size)
    ]
    assert variables
    assert len(set(variables)) == len(variables)
    assert all(v.startswith("SKAAL_") for v in variables)


@pytest.mark.parametrize("record", [r for r in RECORDS if r.naming], ids=lambda r: r.name)
def test_every_naming_rule_exists(record: Implementation) -> None:
    assert as_service(record.naming or "") == record.naming


def test_an_unknown_naming_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="no naming rule for service 'tape'; known: dynamodb"):
        as_service("tape")


@pytest.mark.parametrize("record", [r for r in RECORDS if r.triggered_by], ids=lambda r: r.name)
def test_triggers_are_registered_implementations_on_the_same_provider(
    record: Implementation,
) -> None:
    for kind, names in (record.triggered_by or {}).items():
        for name in names:
            for provider in record.providers:
                assert DEFAULT_REGISTRY.check(name, kind, provider) is None


# -- the checklist of docs/architecture.md, checked on redis ---------------------------


def test_redis_is_named_only_where_the_backend_checklist_puts_it() -> None:
    # Redis is the page's example of a backend wholly described by its record:
    # outside it, only its runtime and its builder sections name it.
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    naming: set[str] = set()
    for path in sorted((ROOT / "skaal").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Constant) and n.value == "redis" for n in ast.walk(tree)):
            naming.add(path.relative_to(ROOT).as_posix())
    assert "skaal/registry/builtin.py" in naming
    assert [f for f in sorted(naming) if f"`{f}`" not in page] == []


# -- the bundled catalogs ----------------------------------------------------------------


@pytest.mark.parametrize("catalog", sorted(bundled_catalogs()))
def test_every_choosable_catalog_backend_has_a_runtime(catalog: str) -> None:
    loaded = load_catalog(catalog)
    for backend in loaded.backends:
        for kind in backend.kinds:
            if kind == "function":
                continue
            if DEFAULT_REGISTRY.check(backend.implementation, kind, loaded.provider) is None:
                assert backend.implementation in FACTORIES, (
                    f"{catalog}: {backend.name} may be chosen for a {kind} "
                    f"but {backend.implementation!r} has no runtime provider"
                )
