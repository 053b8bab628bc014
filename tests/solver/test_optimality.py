"""The planner's plans against an oracle that shares nothing with it.

:mod:`solver.oracle` reads the catalog TOML and the Blueprint record itself,
states feasibility, workload defaults and pricing again, and solves one
per-instance programme with HiGHS.  Three layers, each able to fail alone:

1. Hand-checked apps on the bundled catalogs, with the arithmetic from the
   catalog prices in the comments: planner, oracle and hand agree.
2. The oracle against exhaustive enumeration on tiny random catalogs and apps.
3. :func:`skaal.solver.solve` against the oracle on 300 seeded apps drawn as
   users write them (:func:`solver.generate.user_app`) over the bundled
   ``aws``, ``gcp`` and ``local-servers`` catalogs, with instance classes,
   replicas, quotas and capacity modes: the same verdict, the same total to
   the cent, status ``optimal``, and every plan valid by the oracle's rules
   (:func:`solver.oracle.audit`).
4. The same on 60 seeded apps whose every resource declares a residency
   (us, eu or asia), so that servers land in several regions and each
   region holding one pays its network once (:mod:`skaal.solver.vpc`).
"""

from __future__ import annotations

import functools
import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomli_w

from skaal.blueprint.model import Blueprint
from skaal.catalog.loader import load_catalog
from skaal.catalog.model import Catalog
from skaal.errors import UnsatisfiableError
from skaal.plan.model import Binding, CostLine, Plan, SharedInstance
from skaal.solver import solve
from skaal.solver.feasibility import build_problem
from solver import generate
from solver.oracle import Answer, audit, options, read_catalog, solve_exact
from solver.oracle_catalog import CatalogData, CatalogNotReadError
from solver.oracle_rules import load_of, read_consistency, shapes_of

CENT = 0.005
#: The aws NAT gateway and its address, a month: (0.045 + 0.005) x 730.
NAT = 36.50
APPS = 300
#: Catalog of app ``seed``: aws and gcp three times in seven, local-servers once.
CATALOGS = ("aws", "gcp", "aws", "gcp", "aws", "gcp", "local-servers")


@functools.cache
def _catalogs(name: str) -> tuple[Catalog, CatalogData]:
    return load_catalog(name), read_catalog(name)


def _app(drafts: list[generate.ResourceDraft], **limits: float | int) -> Blueprint:
    return generate.build_blueprint(tuple(drafts), **limits)  # type: ignore[arg-type]


def _both(blueprint: Blueprint, name: str) -> tuple[Plan, Answer]:
    catalog, data = _catalogs(name)
    plan = solve(blueprint, catalog)
    answer = solve_exact(blueprint, data)
    assert plan.status == "optimal"
    assert answer.status == "optimal"
    assert answer.total is not None
    assert audit(plan, blueprint, data) == []
    return plan, answer


# -- 1. hand-checked apps ---------------------------------------------------------------


def test_a_busy_dynamodb_map_lands_on_provisioned_capacity() -> None:
    # 2,000 reads/s, 500 writes/s, 50 GB, availability 99.99% (only DynamoDB
    # promises it on aws).  catalogs/aws.toml, dynamodb:
    #   on-demand:   50 GB x $0.25 = 12.50
    #                reads  2,000/s x 2,628,000 s / 1e6 = 5,256 M x $0.125 =  657.00
    #                writes   500/s x 2.628 = 1,314 M x $0.625              =  821.25
    #                                                              total 1,490.75
    #   provisioned: target utilisation 0.7
    #                12.50
    #                ceil(2,000 / 0.7) = 2,858 RCU x $0.0949 = 271.2242
    #                ceil(  500 / 0.7) =   715 WCU x $0.4745 = 339.2675
    #                                                              total   622.9917
    #   either mode: point-in-time recovery of the 50 GB x $0.20 =  10.00
    #                                                                      632.9917
    blueprint = _app(
        [
            generate.ResourceDraft(
                "Orders",
                "map",
                {"reads": "2000/s", "writes": "500/s", "size": "50GB", "availability": "99.99%"},
            )
        ]
    )
    plan, answer = _both(blueprint, "aws")
    assert plan.total_monthly_cost == pytest.approx(632.9917, abs=CENT)
    assert answer.total == pytest.approx(632.9917, abs=CENT)
    binding = plan.binding("Orders")
    assert (binding.backend, binding.mode) == ("dynamodb", "provisioned")
    assert binding.provisioned is not None
    assert (binding.provisioned.reads_per_s, binding.provisioned.writes_per_s) == (2858, 715)
    assert answer.own["Orders"].mode == "provisioned"


@pytest.mark.parametrize(
    ("reads", "writes", "mode", "lines", "strong"),
    [
        # 0.1 reads/s, 0.01 writes/s, 1 GB, consistency="eventual": on demand.
        #   storage  1 GB x $0.25                                          = 0.25
        #   reads    0.1/s x 2.628 = 0.2628 M reads x 0.5 RRU (eventual)
        #            = 0.1314 M RRU x $0.125                               = 0.016425
        #   writes   0.01/s x 2.628 = 0.02628 M WRU x $0.625               = 0.016425
        #   point-in-time recovery  1 GB x $0.20                           = 0.20
        #                                                           total    0.48285
        #   (provisioned: 0.25 + 1 RCU x 0.0949 + 1 WCU x 0.4745 + 0.20 = 1.0194)
        #   strong: the reads are 0.2628 M RRU x 0.125 = 0.03285, total 0.499275
        (
            "0.1/s",
            "0.01/s",
            "on-demand",
            {
                "per_gb_month": (1.0, 0.25),
                "eventual per_million_reads": (0.1314, 0.016425),
                "per_million_writes": (0.02628, 0.016425),
                "backup_per_gb_month": (1.0, 0.2),
            },
            0.499275,
        ),
        # 100 reads/s, 10 writes/s, 1 GB, consistency="eventual": provisioned.
        #   storage  0.25
        #   reads    ceil(100 x 0.5 RCU / 0.7) = ceil(71.43) = 72 RCU x $0.0949 = 6.8328
        #   writes   ceil(10 / 0.7) = 15 WCU x $0.4745                          = 7.1175
        #   point-in-time recovery  1 GB x $0.20                                = 0.20
        #                                                               total   14.4003
        #   (on demand: 0.25 + 131.4 M RRU x 0.125 + 26.28 M WRU x 0.625 + 0.20 = 33.30)
        #   strong: ceil(100 / 0.7) = 143 RCU x 0.0949 = 13.5707, total 21.1382
        (
            "100/s",
            "10/s",
            "provisioned",
            {
                "per_gb_month": (1.0, 0.25),
                "eventual per_read_per_s_month": (72.0, 6.8328),
                "per_write_per_s_month": (15.0, 7.1175),
                "backup_per_gb_month": (1.0, 0.2),
            },
            21.1382,
        ),
    ],
)
def test_an_eventual_dynamodb_map_pays_half_a_read_unit(
    reads: str,
    writes: str,
    mode: str,
    lines: dict[str, tuple[float, float]],
    strong: float,
) -> None:
    draft = {"reads": reads, "writes": writes, "size": "1GB", "availability": "99.99%"}
    eventual = {**draft, "consistency": "eventual"}
    plan, answer = _both(_app([generate.ResourceDraft("Views", "map", eventual)]), "aws")
    expected = sum(monthly for _, monthly in lines.values())
    assert plan.total_monthly_cost == pytest.approx(expected, abs=1e-6)
    assert answer.total == pytest.approx(expected, abs=CENT)
    binding = plan.binding("Views")
    assert (binding.backend, binding.mode, binding.consistency) == ("dynamodb", mode, "eventual")
    assert {c.component: (c.quantity, c.monthly) for c in binding.cost} == lines
    assert "eventually consistent reads at 0.5 of a strong read's price" in binding.reason
    if mode == "provisioned":
        assert binding.provisioned is not None
        assert binding.provisioned.reads_per_s == lines["eventual per_read_per_s_month"][0]
    # undeclared, the same map is read (and priced) strongly consistent, as before
    plain, _ = _both(_app([generate.ResourceDraft("Views", "map", draft)]), "aws")
    assert plain.binding("Views").consistency == "strong"
    assert plain.total_monthly_cost == pytest.approx(strong, abs=1e-6)
    assert not any(c.component.startswith("eventual") for c in plain.binding("Views").cost)


def test_a_one_gb_cache_takes_the_smallest_node_that_holds_it() -> None:
    # Ephemeral and < 1 ms: only ElastiCache.  Its resources pay nothing of
    # their own; cache.t4g.micro holds 0.4 GB, cache.t4g.small 1.1 GB for
    # $23.36 a month (replicas add reads, not memory), plus the NAT gateway the
    # functions of a VPC need: (0.045 + 0.005) x 730 = $36.50.
    blueprint = _app(
        [
            generate.ResourceDraft(
                "Sessions",
                "map",
                {"size": "1GB", "read_latency": "< 1ms", "durability": "ephemeral"},
            )
        ]
    )
    plan, answer = _both(blueprint, "aws")
    assert plan.total_monthly_cost == pytest.approx(23.36 + NAT, abs=CENT)
    assert answer.total == pytest.approx(23.36 + NAT, abs=CENT)
    assert [(i.instance_class, i.resources) for i in plan.instances] == [
        ("cache.t4g.small", ("Sessions",))
    ]


def test_co_located_caches_share_one_larger_node() -> None:
    # Two 0.8 GB caches: apart, two cache.t4g.small (1.1 GB) cost 2 x 23.36 =
    # 46.72; co-located they need one node of 1.6 GB: cache.t4g.medium
    # (2.49 GB) at $47.45; either way with the $36.50 NAT gateway.
    cache = {"size": "0.8GB", "read_latency": "< 1ms", "durability": "ephemeral"}
    apart = _app(
        [generate.ResourceDraft("A", "map", cache), generate.ResourceDraft("B", "map", cache)]
    )
    together = _app(
        [
            generate.ResourceDraft("A", "map", {**cache, "collocate_with": "B"}),
            generate.ResourceDraft("B", "map", cache),
        ]
    )
    for blueprint, expected in ((apart, 46.72), (together, 47.45)):
        plan, answer = _both(blueprint, "aws")
        assert plan.total_monthly_cost == pytest.approx(expected + NAT, abs=CENT)
        assert answer.total == pytest.approx(expected + NAT, abs=CENT)


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [
        # rds-postgres (persistent, 2 ms): the cheapest class with 20,000
        # reads/s and 5,000 writes/s is db.m7g.xlarge at $245.28; its volume
        # floor 20 GB x $0.115 = 2.30; the map's 500 GB x $0.115 = 57.50; the
        # NAT gateway $36.50; the secret RDS keeps the password in, $0.40.
        ("aws", 245.28 + 2.30 + 57.50 + 36.50 + 0.40),
        # cloudsql-postgres: db-custom-8-30720 (24,000 / 5,000) at $394.49;
        # floor 10 GB x $0.17 = 1.70; data 500 GB x $0.17 = 85.00; its backups
        # 500 GB x $0.08 = 40.00; the secret holding its URL, $0.06.
        ("gcp", 394.49 + 1.70 + 85.00 + 40.00 + 0.06),
    ],
)
def test_a_large_fast_map_gets_one_large_database(catalog: str, expected: float) -> None:
    blueprint = _app(
        [
            generate.ResourceDraft(
                "Feed",
                "map",
                {"reads": "20000/s", "writes": "5000/s", "size": "500GB", "read_latency": "< 5ms"},
            )
        ]
    )
    plan, answer = _both(blueprint, catalog)
    assert plan.total_monthly_cost == pytest.approx(expected, abs=CENT)
    assert answer.total == pytest.approx(expected, abs=CENT)
    assert len(plan.instances) == 1


# -- 2. the oracle against enumeration ---------------------------------------------------

_SOURCE = {"source": "https://example.com/tiny", "as_of": "2026-12"}


def _money(amount: float) -> dict[str, object]:
    return {"amount": amount, **_SOURCE}


def _tiny_catalog(rng: random.Random, folder: Path) -> CatalogData:
    """Two dedicated and two server backends for maps, with seeded figures, as TOML."""
    backends: dict[str, object] = {}
    for name in ("kv-a", "kv-b"):
        backends[name] = {
            "description": name,
            "kinds": ["map"],
            "implementation": "dynamodb",
            "regions": ["us-east-1"],
            "performance": {"durability": "durable", "availability": 99.9},
            "price": {
                "region": "us-east-1",
                "per_gb_month": _money(round(rng.uniform(0.5, 5), 2)),
                "fixed_monthly": _money(round(rng.uniform(0, 8), 2)),
            },
        }
    for name in ("srv-a", "srv-b"):
        classes = {}
        for index in range(rng.randint(1, 3)):
            size = rng.choice([1.0, 2.0, 3.0])
            classes[f"c{index}"] = {
                "price": _money(round(rng.uniform(2, 12) * size, 2)),
                "size_gb": size,
                "reads_per_s": rng.choice([50.0, 100.0]),
                "resources": rng.randint(1, 3),
                "max_replicas": rng.randint(0, 1),
            }
        backends[name] = {
            "description": name,
            "kinds": ["map"],
            "implementation": "redis",
            "regions": ["us-east-1"],
            "performance": {
                "durability": rng.choice(["persistent", "durable"]),
                "availability": 99.9,
            },
            "server": {
                "quota": rng.randint(1, 3),
                "min_disk_gb": rng.choice([0.0, 5.0]),
                "classes": classes,
            },
            "price": {"region": "us-east-1", "per_gb_month": _money(round(rng.uniform(0, 1), 2))},
        }
    data = {
        "schema_version": 2,
        "name": "tiny",
        "provider": "aws",
        "region": "us-east-1",
        "backends": backends,
    }
    path = folder / "tiny.toml"
    path.write_text(tomli_w.dumps(data))
    return read_catalog(path)


def _tiny_app(rng: random.Random) -> Blueprint:
    drafts = []
    for i in range(rng.randint(1, 5)):
        kw: dict[str, object] = {
            "size": f"{rng.choice([0.2, 0.5, 0.9, 1.4])}GB",
            "reads": f"{rng.choice([5, 30, 60])}/s",
        }
        if rng.random() < 0.3:
            kw["durability"] = "durable"
        drafts.append(generate.ResourceDraft(f"R{i}", "map", kw))
    if len(drafts) >= 2 and rng.random() < 0.3:
        a, b = rng.sample(range(len(drafts)), 2)
        kw = {**drafts[a].kwargs, "collocate_with": drafts[b].name}
        drafts[a] = generate.ResourceDraft(drafts[a].name, "map", kw)
    limits: dict[str, float | int] = {}
    if rng.random() < 0.3:
        limits["max_backends"] = rng.randint(1, 2)
    return _app(drafts, **limits)


def _partitions(items: list[str]) -> Iterator[list[list[str]]]:
    """Every way to split ``items`` into non-empty blocks."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in _partitions(rest):
        yield [[first], *smaller]
        for i in range(len(smaller)):
            yield [*smaller[:i], [first, *smaller[i]], *smaller[i + 1 :]]


def _enumerate(blueprint: Blueprint, catalog: CatalogData) -> float | None:
    """The optimum by trying every assignment and every split of each server's share."""
    opts = options(blueprint, catalog)
    loads = {spec.name: load_of(spec) for spec in blueprint.resources}
    entries = {e.name: e for e in catalog.backends}
    pairs = [
        (s.name, s.requirements.collocate_with)
        for s in blueprint.resources
        if s.requirements.collocate_with
    ]
    names = sorted(opts)
    best: float | None = None
    for choice in itertools.product(*(opts[n] for n in names)):
        backend = {n: o.backend for n, o in zip(names, choice, strict=True)}
        if any(backend[a] != backend[p] for a, p in pairs):
            continue
        if (
            blueprint.max_backends is not None
            and len(set(backend.values())) > blueprint.max_backends
        ):
            continue
        total = sum(o.cost for o in choice)
        for s in sorted(set(backend.values())):
            entry = entries[s]
            if entry.server is None:
                continue
            cheapest: float | None = None
            for blocks in _partitions([n for n in names if backend[n] == s]):
                if len(blocks) > entry.server.quota:
                    continue
                if any((a in block) != (p in block) for a, p in pairs for block in blocks):
                    continue
                fees = 0.0
                for block in blocks:
                    use = tuple(sum(loads[n].usage[d] for n in block) for d in range(4))
                    fitting = [k.fee for k in shapes_of(entry) if k.holds(use)]
                    if not fitting:
                        break
                    fees += min(fitting)
                else:
                    cheapest = fees if cheapest is None else min(cheapest, fees)
            if cheapest is None:
                break
            total += cheapest
        else:
            if best is None or total < best:
                best = total
    return best


@pytest.mark.parametrize("seed", range(60))
def test_the_oracle_matches_enumeration(seed: int, tmp_path: Path) -> None:
    rng = random.Random(f"tiny:{seed}")
    catalog = _tiny_catalog(rng, tmp_path)
    blueprint = _tiny_app(rng)
    expected = _enumerate(blueprint, catalog)
    answer = solve_exact(blueprint, catalog)
    if expected is None:
        assert answer.status == "infeasible"
    else:
        assert answer.total == pytest.approx(expected, abs=1e-6)


# -- 3. the planner against the oracle ---------------------------------------------------


def _seeded(seed: int) -> tuple[str, Blueprint]:
    rng = random.Random(f"optimality:{seed}")
    n = rng.randint(3, 40)
    return CATALOGS[seed % len(CATALOGS)], generate.user_app(n, seed).blueprint()


def _shown(plan: Plan | None, answer: Answer) -> str:
    lines = []
    if plan is None:
        lines.append("planner: unsatisfiable")
    else:
        lines.append(f"planner: {plan.total_monthly_cost:.2f} ({plan.status})")
        lines += [f"  {b.resource} -> {b.backend} {b.instance or ''} {b.mode or ''} "
                  f"{b.monthly_cost:.4f}" for b in plan.bindings]  # fmt: skip
        lines += [f"  {i.id} {i.instance_class}+{i.replicas} {i.fixed_monthly:.2f} {i.resources}"
                  for i in plan.instances]  # fmt: skip
    if answer.status == "infeasible":
        lines.append(f"oracle: infeasible ({answer.why})")
    else:
        assert answer.total is not None
        lines.append(f"oracle: {answer.total:.2f}")
        lines += [f"  {r} -> {b} {answer.own[r].mode or ''} {answer.own[r].cost:.4f}"
                  for r, b in sorted(answer.backends.items())]  # fmt: skip
        lines += [f"  {i.backend} {i.class_name}+{i.replicas} {i.fee:.2f} {i.members}"
                  for i in answer.instances]  # fmt: skip
    return "\n".join(lines)


@functools.cache
def _compared(seed: int) -> tuple[str, Plan | None, Answer, str | None]:
    """Catalog name, the plan (None: unsatisfiable), the oracle's answer, any planner crash."""
    name, blueprint = _seeded(seed)
    catalog, data = _catalogs(name)
    answer = solve_exact(blueprint, data)
    try:
        plan: Plan | None = solve(blueprint, catalog)
    except UnsatisfiableError:
        plan = None
    except Exception as exc:  # reported with the seed by the test, not raised here
        return name, None, answer, f"{type(exc).__name__}: {exc}"
    return name, plan, answer, None


@pytest.mark.parametrize("seed", range(APPS))
def test_the_planner_finds_the_oracles_optimum(seed: int) -> None:
    name, plan, answer, crash = _compared(seed)
    shown = f"seed {seed} on {name}:\n{_shown(plan, answer)}"
    assert crash is None, f"{shown}\nthe planner raised {crash}"
    if answer.status == "infeasible" or plan is None:
        assert plan is None, shown
        assert answer.status == "infeasible", shown
        return
    assert answer.total is not None
    assert audit(plan, _seeded(seed)[1], _catalogs(name)[1]) == [], shown
    if plan.status == "best_found":  # packing the planner could not close: its bound holds
        assert plan.lower_bound is not None, shown
        assert plan.lower_bound <= answer.total + CENT, shown
        assert answer.total <= plan.total_monthly_cost + CENT, shown
        return
    assert abs(plan.total_monthly_cost - answer.total) <= CENT, shown


#: Plans of the 300 apps the planner may leave ``best_found`` (bin packing of
#: large resources the pooled bound cannot close); today 7, 4 of them at the
#: oracle's optimum to the cent.
MOST_UNPROVEN = 7
#: Of those, plans above the optimum by more than a cent; today 3 (by $0.04,
#: $2.50 and $50.29, all within 1.2 % of the optimum).
MOST_ABOVE = 3
MOST_ABOVE_SHARE = 0.012


def test_almost_every_plan_is_proven_optimal() -> None:
    unproven, above = [], []
    for seed in range(APPS):
        name, plan, answer, _ = _compared(seed)
        if plan is None or plan.status == "optimal" or answer.total is None:
            continue
        shown = f"{seed} ({name}): {plan.total_monthly_cost:.2f} vs {answer.total:.2f}"
        unproven.append(shown)
        if plan.total_monthly_cost - answer.total > CENT:
            above.append(shown)
            assert plan.total_monthly_cost <= answer.total * (1 + MOST_ABOVE_SHARE), shown
    assert len(unproven) <= MOST_UNPROVEN, unproven
    assert len(above) <= MOST_ABOVE, above


def test_each_resource_has_the_same_backends_and_costs_by_both_readings() -> None:
    # Finer than the totals: per resource, the backends the oracle's rules
    # admit (a server only when one of its instances holds the resource) and
    # the cost and mode on each, against the planner's filter, to a
    # hundredth of a cent.

    found: list[str] = []
    for seed in range(APPS):
        name, blueprint = _seeded(seed)
        catalog, data = _catalogs(name)
        entries = {e.name: e for e in data.backends}
        theirs = build_problem(blueprint, catalog)
        ours = options(blueprint, data)
        for res in theirs.resources:
            usage = load_of(res.spec).usage
            mine = {
                o.backend: (o.cost, o.mode)
                for o in ours[res.spec.name]
                if entries[o.backend].server is None
                or any(k.holds(usage) for k in shapes_of(entries[o.backend]))
            }
            planner = {o.backend: (o.cost, o.mode) for o in res.options}
            if set(mine) != set(planner):
                found.append(f"seed {seed} {res.spec.name}: {sorted(planner)} vs {sorted(mine)}")
                continue
            for backend, (cost, mode) in planner.items():
                if abs(cost - mine[backend][0]) > 1e-4 or mode != mine[backend][1]:
                    theirs_shown = f"{cost} {mode}"
                    found.append(f"seed {seed} {res.spec.name} on {backend}: {theirs_shown} "
                                 f"vs {mine[backend]}")  # fmt: skip
    assert not found, "\n".join(found[:20])


def test_the_seeded_apps_exercise_classes_modes_and_verdicts() -> None:
    # The comparison only means something if the apps reach what it claims to
    # check: feasible and infeasible apps, several instances, large classes,
    # replicas, provisioned capacity, eventual reads, co-location and budgets.
    seen: dict[str, int] = dict.fromkeys(
        ("feasible", "infeasible", "several instances", "not the smallest class",
         "provisioned", "eventual reads", "co-located", "budget"), 0,
    )  # fmt: skip
    for seed in range(APPS):
        name, plan, _, _ = _compared(seed)
        blueprint = _seeded(seed)[1]
        seen["feasible" if plan is not None else "infeasible"] += 1
        seen["budget"] += blueprint.budget_usd_month is not None
        seen["co-located"] += any(r.requirements.collocate_with for r in blueprint.resources)
        if plan is None:
            continue
        seen["several instances"] += len(plan.instances) > 1
        seen["provisioned"] += any(b.mode == "provisioned" for b in plan.bindings)
        seen["eventual reads"] += any(
            line.component.startswith("eventual ") for b in plan.bindings for line in b.cost
        )
        catalog = _catalogs(name)[0]
        seen["not the smallest class"] += any(
            i.instance_class != _smallest(catalog, i.backend) for i in plan.instances
        )
    assert seen["feasible"] >= 150, seen
    assert seen["infeasible"] >= 20, seen
    for key in ("several instances", "not the smallest class", "provisioned", "co-located"):
        assert seen[key] >= 10, seen
    assert seen["eventual reads"] >= 5, seen  # DynamoDB chosen for an eventual map: 8 today


def _smallest(catalog: Catalog, backend: str) -> str:
    server = catalog.backend(backend).server
    assert server is not None
    return min(server.classes, key=lambda c: c.price.amount).name


def test_the_audit_catches_a_wrong_plan() -> None:
    # A plan with a smaller instance class than its resources need, or a cent
    # more than its lines, or a binding on a backend that cannot serve it, is
    # reported: the check above can fail.
    seed = next(
        s for s in range(APPS)
        if (found := _compared(s)[1]) is not None and found.instances and found.status == "optimal"
    )  # fmt: skip
    name, blueprint = _seeded(seed)
    plan = _compared(seed)[1]
    assert plan is not None
    data = _catalogs(name)[1]
    assert audit(plan, blueprint, data) == []
    smallest = _smallest(_catalogs(name)[0], plan.instances[0].backend)
    squeezed = plan.instances[0].model_copy(update={"instance_class": smallest, "replicas": 0})
    wrong = plan.model_copy(update={"instances": (squeezed, *plan.instances[1:])})
    if smallest != plan.instances[0].instance_class:
        assert audit(wrong, blueprint, data)
    dearer = plan.model_copy(update={"total_monthly_cost": plan.total_monthly_cost + 0.01})
    assert any("plan total" in p for p in audit(dearer, blueprint, data))
    moved = plan.bindings[0].model_copy(update={"backend": "nowhere"})
    elsewhere = plan.model_copy(update={"bindings": (moved, *plan.bindings[1:])})
    assert any("does not serve" in p for p in audit(elsewhere, blueprint, data))
    at, read = next((i, b) for i, b in enumerate(plan.bindings) if b.consistency is not None)
    flipped = read.model_copy(
        update={"consistency": "eventual" if read.consistency == "strong" else "strong"}
    )
    bindings = (*plan.bindings[:at], flipped, *plan.bindings[at + 1 :])
    stale = plan.model_copy(update={"bindings": bindings})
    assert any(f"{read.resource}: consistency" in p for p in audit(stale, blueprint, data))


# -- 4. apps whose servers span regions --------------------------------------------------

SPANNING = 60
#: Catalogs with a network fee per region (the local ones have none).
SPANNING_CATALOGS = ("aws", "gcp")


def _spanning(seed: int) -> tuple[str, Blueprint]:
    """A user app of 3-16 resources, each declaring one of three residencies (a co-located
    pair the same), many of them caches that only a server serves."""
    rng = random.Random(f"spanning:{seed}")
    drafts = generate.user_app(rng.randint(3, 16), 10_000 + seed).drafts
    residency = {d.name: rng.choice(("us", "eu", "us", "eu", "asia")) for d in drafts}
    spread = []
    for draft in drafts:
        kw = dict(draft.kwargs)
        peer = kw.get("collocate_with")
        kw["residency"] = residency[peer if isinstance(peer, str) else draft.name]
        if draft.kind == "map" and rng.random() < 0.4:  # a cache: only a server serves it
            kw.update(read_latency="< 1ms", durability="ephemeral")
            kw.pop("availability", None)
            kw.pop("access", None)
        spread.append(generate.ResourceDraft(draft.name, draft.kind, kw, draft.coupled))
    blueprint = generate.build_blueprint(tuple(spread))
    return SPANNING_CATALOGS[seed % len(SPANNING_CATALOGS)], blueprint


@functools.cache
def _spanning_compared(seed: int) -> tuple[str, Plan | None, Answer]:
    name, blueprint = _spanning(seed)
    catalog, data = _catalogs(name)
    answer = solve_exact(blueprint, data)
    try:
        plan: Plan | None = solve(blueprint, catalog)
    except UnsatisfiableError:
        plan = None
    return name, plan, answer


@pytest.mark.parametrize("seed", range(SPANNING))
def test_the_planner_pays_each_regions_network_as_the_oracle_does(seed: int) -> None:
    name, plan, answer = _spanning_compared(seed)
    shown = f"spanning seed {seed} on {name}:\n{_shown(plan, answer)}"
    if answer.status == "infeasible" or plan is None:
        assert plan is None, shown
        assert answer.status == "infeasible", shown
        return
    assert answer.total is not None
    assert audit(plan, _spanning(seed)[1], _catalogs(name)[1]) == [], shown
    assert plan.status == "optimal", shown
    assert abs(plan.total_monthly_cost - answer.total) <= CENT, shown


def test_the_spanning_apps_put_servers_in_several_regions() -> None:
    # The comparison above means something only if the plans pay several
    # networks, and if some plan keeps a region off the VPC that another
    # region of the same plan pays for.
    several = partial = 0
    for seed in range(SPANNING):
        _, plan, _ = _spanning_compared(seed)
        if plan is None:
            continue
        paid = {line.region for line in plan.network}
        several += len(paid) > 1
        regions = {b.region for b in plan.bindings if b.kind != "function"}
        partial += bool(paid) and bool(regions - paid)
    assert several >= 20, several
    assert partial >= 15, partial


# -- 5. quotas shared by a group and counted in units ------------------------------------


def _server(
    classes: dict[str, dict[str, object]], *, quota: int, group: str | None = None
) -> dict[str, object]:
    """A server backend for maps with free resources: a plan pays only its instances."""
    server: dict[str, object] = {"quota": quota, "min_disk_gb": 0.0, "classes": classes}
    if group is not None:
        server["quota_group"] = group
    return {
        "description": "a server",
        "kinds": ["map"],
        "implementation": "redis",
        "regions": ["us-east-1"],
        "performance": {"durability": "durable", "availability": 99.9},
        "server": server,
        "price": {"region": "us-east-1"},
    }


def _size(price: float, size_gb: float, resources: int, **more: object) -> dict[str, object]:
    return {"price": _money(price), "size_gb": size_gb, "resources": resources, **more}


def _servers_catalog(folder: Path, backends: dict[str, object], name: str) -> CatalogData:
    data = {
        "schema_version": 2,
        "name": name,
        "provider": "aws",
        "region": "us-east-1",
        "backends": backends,
    }
    path = folder / f"{name}.toml"
    path.write_text(tomli_w.dumps(data))
    return read_catalog(path)


def _db_catalog(folder: Path, *, quota: int, group: str | None) -> CatalogData:
    """db-a runs one map for $10 or two for $40, db-b one for $15; both in ``group``."""
    db_a = {"small": _size(10.0, 1.0, 1), "pair": _size(40.0, 2.0, 2)}
    return _servers_catalog(
        folder,
        {
            "db-a": _server(db_a, quota=quota, group=group),
            "db-b": _server({"small": _size(15.0, 1.0, 1)}, quota=quota, group=group),
        },
        f"db-{quota}-{group}",
    )


def _cache_catalog(folder: Path, *, quota: int, units: int | None) -> CatalogData:
    """One server: c3 ($10 a node, 1 GB, 100 reads/s, up to one replica) and c3-pair
    ($25, 2 GB, 100 reads/s, two maps), each node using ``units`` of the quota."""
    per_node = {} if units is None else {"quota_units": units}
    classes = {
        "c3": _size(10.0, 1.0, 1, reads_per_s=100.0, max_replicas=1, **per_node),
        "c3-pair": _size(25.0, 2.0, 2, reads_per_s=100.0, **per_node),
    }
    return _servers_catalog(folder, {"cache": _server(classes, quota=quota)}, f"cache-{quota}")


def _maps(*reads: int) -> Blueprint:
    """A map of 0.8 GB per entry of ``reads`` (reads/s): no instance holds two but a pair.

    Each declares eventual reads, so a server reading from replicas may hold it."""
    return _app(
        [
            generate.ResourceDraft(
                f"M{i}", "map", {"size": "0.8GB", "reads": f"{n}/s", "consistency": "eventual"}
            )
            for i, n in enumerate(reads)
        ]
    )


def test_the_catalog_reader_takes_quota_groups_and_units_through_extends(tmp_path: Path) -> None:
    base = _db_catalog(tmp_path, quota=2, group=None)
    assert {e.name: e.server.quota_group for e in base.backends if e.server} == {
        "db-a": "db-a",
        "db-b": "db-b",
    }
    assert {c.quota_units for e in base.backends if e.server for c in e.server.classes} == {1}
    child = tmp_path / "child.toml"
    child.write_text(
        tomli_w.dumps(
            {
                "schema_version": 2,
                "name": "child",
                "provider": "aws",
                "region": "us-east-1",
                "extends": f"{base.name}.toml",
                "backends": {
                    "db-a": {
                        "server": {"quota_group": "g", "classes": {"pair": {"quota_units": 2}}}
                    },
                    "db-b": {"server": {"quota_group": "g"}},
                },
            }
        )
    )
    entries = {e.name: e for e in read_catalog(child).backends}
    db_a, db_b = entries["db-a"].server, entries["db-b"].server
    assert db_a is not None
    assert db_b is not None
    assert (db_a.quota_group, db_b.quota_group, db_a.quota) == ("g", "g", 2)
    assert {c.name: (c.quota_units, c.price) for c in db_a.classes} == {
        "small": (1, 10.0),
        "pair": (2, 40.0),
    }


def test_members_of_a_group_stating_different_quotas_are_refused(tmp_path: Path) -> None:
    backends = {
        "db-a": _server({"small": _size(10.0, 1.0, 1)}, quota=2, group="g"),
        "db-b": _server({"small": _size(15.0, 1.0, 1)}, quota=3, group="g"),
    }
    with pytest.raises(CatalogNotReadError, match="quota group g states several quotas"):
        _servers_catalog(tmp_path, backends, "mismatch")


#: Instances an answer opens: (backend, class, replicas), sorted.
Opened = list[tuple[str, str, int]]
SMALL = ("db-a", "small", 0)


def _check(answer: Answer, expected: tuple[float, Opened] | None) -> None:
    """``answer`` is ``expected``'s total and instances, or infeasible for ``None``."""
    if expected is None:
        assert answer.status == "infeasible"
        return
    assert answer.status == "optimal"
    assert answer.total == pytest.approx(expected[0], abs=1e-9)
    assert sorted((i.backend, i.class_name, i.replicas) for i in answer.instances) == expected[1]


@pytest.mark.parametrize(
    ("quota", "group", "expected"),
    [
        # Each server its own quota of 2: two small instances on db-a and one
        # on db-b, 10 + 10 + 15 = 35.
        (2, None, (35.0, [SMALL, SMALL, ("db-b", "small", 0)])),
        # The same quota of 2 shared: two instances in all, so two maps share
        # db-a's pair: 40 + 10 = 50.
        (2, "db-instances", (50.0, [("db-a", "pair", 0), SMALL])),
        # Shared, 3: all three small instances on db-a, 3 x 10 = 30.
        (3, "db-instances", (30.0, [SMALL, SMALL, SMALL])),
        # Shared, 1: one instance holds at most two maps.
        (1, "db-instances", None),
    ],
)
def test_servers_of_a_quota_group_share_one_quota(
    quota: int, group: str | None, expected: tuple[float, Opened] | None, tmp_path: Path
) -> None:
    _check(
        solve_exact(_maps(10, 10, 10), _db_catalog(tmp_path, quota=quota, group=group)), expected
    )


@pytest.mark.parametrize(
    ("reads", "quota", "units", "expected"),
    [
        # Two maps, quota 5, one unit a node: two c3, 10 + 10 = 20.
        ((10, 10), 5, None, (20.0, [("cache", "c3", 0)] * 2)),
        # Three units a node: two c3 use 6 > 5, so one c3-pair holds both: 25.
        ((10, 10), 5, 3, (25.0, [("cache", "c3-pair", 0)])),
        # Quota 6: the two c3 fit again.
        ((10, 10), 6, 3, (20.0, [("cache", "c3", 0)] * 2)),
        # 150 reads/s need c3 and a replica (200 reads/s, 2 x 10 = 20): two
        # nodes, 2 x 3 = 6 units > 5, and c3-pair reads only 100/s: no plan.
        ((150,), 5, 3, None),
        ((150,), 6, 3, (20.0, [("cache", "c3", 1)])),
        # One unit a node: the replica's 2 units fit under 5.
        ((150,), 5, None, (20.0, [("cache", "c3", 1)])),
    ],
)
def test_quota_units_count_each_node_of_an_instance(
    reads: tuple[int, ...],
    quota: int,
    units: int | None,
    expected: tuple[float, Opened] | None,
    tmp_path: Path,
) -> None:
    _check(solve_exact(_maps(*reads), _cache_catalog(tmp_path, quota=quota, units=units)), expected)


def _plan_of(answer: Answer, blueprint: Blueprint, catalog: CatalogData) -> Plan:
    """The oracle's answer written as a plan, one binding and instance as the planner would."""
    entries = {e.name: e for e in catalog.backends}
    specs = {spec.name: spec for spec in blueprint.resources}
    ids = {m: f"i{n}" for n, i in enumerate(answer.instances) for m in i.members}
    bindings = tuple(
        Binding(
            resource=r,
            kind=specs[r].kind,
            backend=b,
            implementation=entries[b].implementation,
            region=catalog.region,
            instance=ids.get(r),
            mode=answer.own[r].mode,
            consistency=read_consistency(specs[r], entries[b]),  # type: ignore[arg-type]
            monthly_cost=answer.own[r].cost,
            cost=(CostLine(component="all", quantity=1.0, monthly=answer.own[r].cost),),
            reason="the oracle's",
        )
        for r, b in sorted(answer.backends.items())
    )
    instances = tuple(
        SharedInstance(
            id=f"i{n}",
            backend=i.backend,
            instance_class=i.class_name,
            replicas=i.replicas,
            fixed_monthly=i.fee,
            cost=(CostLine(component=f"instance {i.class_name}", quantity=1.0, monthly=i.fee),),
            resources=i.members,
        )
        for n, i in enumerate(answer.instances)
    )
    assert answer.total is not None
    return Plan(
        app=blueprint.app,
        catalog=catalog.name,
        provider="aws",
        region=catalog.region,
        blueprint_hash="-",
        catalog_hash="-",
        bindings=bindings,
        instances=instances,
        total_monthly_cost=answer.total,
    )


def test_the_audit_counts_quota_units_per_group(tmp_path: Path) -> None:
    # A plan within each server's own quota passes; the same plan against the
    # catalog where the servers share it, or where each node uses 3 units, is
    # reported with the units each server uses, and nothing else is.
    maps = _maps(10, 10, 10)
    apart = solve_exact(maps, _db_catalog(tmp_path, quota=2, group=None))
    plan = _plan_of(apart, maps, _db_catalog(tmp_path, quota=2, group=None))
    assert audit(plan, maps, _db_catalog(tmp_path, quota=2, group=None)) == []
    assert audit(plan, maps, _db_catalog(tmp_path, quota=3, group="db-instances")) == []
    assert audit(plan, maps, _db_catalog(tmp_path, quota=2, group="db-instances")) == [
        "db-instances: 3 quota units in us-east-1 > quota 2 (db-a 2, db-b 1)"
    ]
    read = _maps(150)  # c3 and its replica: 2 nodes
    one_unit = solve_exact(read, _cache_catalog(tmp_path, quota=2, units=None))
    replicated = _plan_of(one_unit, read, _cache_catalog(tmp_path, quota=2, units=None))
    assert [(i.instance_class, i.replicas) for i in replicated.instances] == [("c3", 1)]
    assert audit(replicated, read, _cache_catalog(tmp_path, quota=6, units=3)) == []
    assert audit(replicated, read, _cache_catalog(tmp_path, quota=5, units=3)) == [
        "cache: 6 quota units in us-east-1 > quota 5"
    ]
    assert audit(replicated, read, _cache_catalog(tmp_path, quota=1, units=None)) == [
        "cache: 2 quota units in us-east-1 > quota 1"
    ]
