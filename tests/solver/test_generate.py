"""The synthetic instance generators: deterministic, valid, and shaped by their knobs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from skaal.catalog.loader import load_catalog
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
    servers = [b.server for b in catalog.backends if b.server is not None]
    assert len(servers) == 6
    assert all(len(s.classes) == 1 and s.classes[0].price.amount > 0 for s in servers)
    assert all(b.price.fixed_monthly is None for b in catalog.backends if b.server is not None)
    for b in catalog.backends:
        for kind in b.kinds:
            assert DEFAULT_REGISTRY.check(b.implementation, kind, catalog.provider) is None


def test_scale_multiplies_the_server_quotas() -> None:
    base = generate.generate_catalog(0)
    scaled = generate.generate_catalog(0, scale=10)
    for a, b in zip(base.backends, scaled.backends, strict=True):
        if a.server is not None and b.server is not None:
            assert b.server.quota == a.server.quota * 10


def test_capacity_multiplies_what_one_shared_instance_holds() -> None:
    base = generate.generate_catalog(0)
    roomy = generate.generate_catalog(0, capacity=100)
    compared = 0
    for a, b in zip(base.backends, roomy.backends, strict=True):
        assert (a.server is None) == (b.server is None)
        if a.server is None or b.server is None:
            assert a == b
            continue
        compared += 1
        assert b.server.quota == a.server.quota
        for dimension in ("size_gb", "reads_per_s", "writes_per_s", "resources"):
            before = getattr(a.server.classes[0], dimension)
            after = getattr(b.server.classes[0], dimension)
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
    catalog = generate.generate_catalog(9)
    text = generate.catalog_toml(catalog)
    assert tomllib.loads(text)["schema_version"] == 2
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
    shared = {b.name for b in catalog.backends if b.server is not None}
    for coupling in (0.0, 0.25, 0.6):
        drafts = generate.generate_drafts(1000, 1, coupling=coupling)
        problem = build_problem(generate.build_blueprint(drafts), catalog)
        with_shared = sum(any(o.backend in shared for o in r.options) for r in problem.resources)
        assert with_shared / 1000 == pytest.approx(coupling, abs=0.05)


def test_collocations_are_disjoint_same_kind_pairs() -> None:
    drafts = generate.generate_drafts(200, 4, coupling=0.3, collocations=15)
    by_name = {d.name: d for d in drafts}
    pairs = [
        (d.name, str(d.kwargs["collocate_with"])) for d in drafts if "collocate_with" in d.kwargs
    ]
    assert len(pairs) == 15
    members = [name for pair in pairs for name in pair]
    assert len(members) == len(set(members))
    assert all(by_name[a].kind == by_name[b].kind for a, b in pairs)


# -- apps as users write them ---------------------------------------------------------

_USER_KINDS = {"map", "collection", "blob", "queue"}


def test_a_user_app_is_a_pure_function_of_its_seed() -> None:
    assert generate.user_app(30, 4) == generate.user_app(30, 4)
    assert generate.user_app(30, 4) != generate.user_app(30, 5)


def test_user_apps_hold_data_and_queues_within_the_stated_ranges() -> None:
    specs = [r for seed in range(40) for r in generate.user_app(25, seed).blueprint().resources]
    assert {r.kind for r in specs} == _USER_KINDS
    sizes = [r.requirements.size_gb for r in specs if r.requirements.size_gb is not None]
    rates = [
        rate
        for r in specs
        for rate in (r.requirements.reads_per_s, r.requirements.writes_per_s)
        if rate is not None
    ]
    assert 0.1 <= min(sizes) < 1
    assert 100 < max(sizes) <= 500
    assert min(rates) == 0
    assert 5000 < max(rates) <= 20_000
    # Users leave some figures to the defaults, and say what they need.
    assert any(r.kind != "queue" and r.requirements.size_gb is None for r in specs)
    for field in ("read_latency", "durability", "consistency", "ttl_s", "access", "ordered",
                  "max_attempts", "retention_s", "availability", "residency"):  # fmt: skip
        assert any(getattr(r.requirements, field) is not None for r in specs), field


def test_user_apps_sometimes_co_locate_and_set_limits() -> None:
    apps = [generate.user_app(20, seed) for seed in range(60)]
    assert 10 <= sum(a.budget is not None for a in apps) <= 35
    assert 3 <= sum(a.max_backends is not None for a in apps) <= 20
    paired = [
        (r, a.blueprint().resource(peer))
        for a in apps
        for r in a.blueprint().resources
        if (peer := r.requirements.collocate_with) is not None
    ]
    assert len(paired) >= 10
    assert all(r.kind == peer.kind for r, peer in paired)


def test_a_user_app_declares_on_a_real_app_as_it_builds() -> None:
    app = generate.user_app(30, 11)
    declared = generate.declare_app(app.drafts, budget=app.budget, max_backends=app.max_backends)
    assert declared.blueprint().canonical_json() == app.blueprint().canonical_json()
