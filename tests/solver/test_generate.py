"""The synthetic instance generators: deterministic, valid, and shaped by their knobs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from skaal.registry import DEFAULT_REGISTRY
from skaal.solver.feasibility import build_problem
from solver import generate


def test_the_same_seed_gives_the_same_instance_and_another_seed_does_not() -> None:
    assert generate.generate_catalog(3) == generate.generate_catalog(3)
    assert generate.generate_catalog(3) != generate.generate_catalog(4)
    one = generate.generate_drafts(40, 7, coupling=0.3, collocations=4)
    assert one == generate.generate_drafts(40, 7, coupling=0.3, collocations=4)
    assert one != generate.generate_drafts(40, 8, coupling=0.3, collocations=4)


def test_the_catalog_has_about_twenty_backends_all_runnable() -> None:
    catalog = generate.generate_catalog(0)
    assert len(catalog.backends) == 20
    shared = [b for b in catalog.backends if b.shared is not None]
    assert len(shared) == 6
    assert all(b.price.fixed_monthly is not None for b in shared)
    for b in catalog.backends:
        for kind in b.kinds:
            assert DEFAULT_REGISTRY.check(b.implementation, kind, catalog.provider) is None


def test_scale_multiplies_shared_instances() -> None:
    base = generate.generate_catalog(0)
    scaled = generate.generate_catalog(0, scale=10)
    for a, b in zip(base.backends, scaled.backends, strict=True):
        if a.shared is not None and b.shared is not None:
            assert b.shared.max_instances == a.shared.max_instances * 10


def test_capacity_multiplies_what_one_shared_instance_holds() -> None:
    base = generate.generate_catalog(0)
    roomy = generate.generate_catalog(0, capacity=100)
    compared = 0
    for a, b in zip(base.backends, roomy.backends, strict=True):
        assert (a.shared is None) == (b.shared is None)
        if a.shared is None or b.shared is None:
            assert a == b
            continue
        compared += 1
        assert b.shared.max_instances == a.shared.max_instances
        for dimension in ("size_gb", "reads_per_s", "writes_per_s", "resources"):
            before, after = getattr(a.shared, dimension), getattr(b.shared, dimension)
            assert (before is None and after is None) or after == pytest.approx(before * 100)
    assert compared == 6


def test_declaring_on_an_app_and_building_records_give_the_same_blueprint() -> None:
    drafts = generate.generate_drafts(120, 5, coupling=0.4, collocations=6)
    declared = generate.declare_app(drafts, budget=1234.5, max_backends=6).blueprint()
    built = generate.build_blueprint(drafts, budget=1234.5, max_backends=6)
    assert declared.canonical_json() == built.canonical_json()
    assert declared.budget_usd_month == 1234.5


def test_the_app_source_declares_the_same_app() -> None:
    drafts = generate.generate_drafts(30, 2, coupling=0.5, collocations=3)
    source = generate.app_source(drafts, budget=99.0, max_backends=4)
    namespace: dict[str, object] = {"__name__": "generated_app"}
    exec(compile(source, "generated_app.py", "exec"), namespace)
    app = namespace["app"]
    blueprint = app.blueprint()  # type: ignore[attr-defined]
    built = generate.build_blueprint(drafts, budget=99.0, max_backends=4)
    assert [r.requirements for r in blueprint.resources] == [
        r.requirements for r in built.resources
    ]
    assert blueprint.max_backends == 4


def test_the_catalog_toml_round_trips_through_the_loader(tmp_path: Path) -> None:
    from skaal.catalog.loader import load_catalog

    catalog = generate.generate_catalog(9)
    text = generate.catalog_toml(catalog)
    assert tomllib.loads(text)["schema_version"] == 1
    path = tmp_path / "synthetic.toml"
    path.write_text(text)
    loaded = load_catalog(path)
    assert loaded.canonical_json() == catalog.canonical_json()


@pytest.mark.parametrize("seed", range(4))
def test_every_generated_resource_has_a_feasible_option(seed: int) -> None:
    drafts = generate.generate_drafts(800, seed, coupling=0.3, collocations=20, residency=0.3)
    problem = build_problem(generate.build_blueprint(drafts), generate.generate_catalog(seed))
    assert all(r.options for r in problem.resources)


def test_coupling_is_the_share_of_resources_with_a_shared_option() -> None:
    catalog = generate.generate_catalog(1)
    shared = {b.name for b in catalog.backends if b.shared is not None}
    for coupling in (0.0, 0.25, 0.6):
        drafts = generate.generate_drafts(1000, 1, coupling=coupling)
        problem = build_problem(generate.build_blueprint(drafts), catalog)
        with_shared = sum(any(o.backend in shared for o in r.options) for r in problem.resources)
        assert with_shared / 1000 == pytest.approx(coupling, abs=0.05)


def test_collocations_are_disjoint_same_kind_pairs() -> None:
    drafts = generate.generate_drafts(200, 4, coupling=0.3, collocations=15)
    by_name = {d.name: d for d in drafts}
    pairs = [(d.name, d.kwargs["collocate_with"]) for d in drafts if "collocate_with" in d.kwargs]
    assert len(pairs) == 15
    members = [name for pair in pairs for name in pair]
    assert len(members) == len(set(members))
    assert all(by_name[a].kind == by_name[b].kind for a, b in pairs)
