"""Count quotas: how many tables, topics or buckets one account holds.

DynamoDB holds 2,500 tables per account in a Region (``[backends.dynamodb.
counts.tables]`` of ``catalogs/aws.toml``), Pub/Sub 10,000 topics per
project, three per queue (``catalogs/gcp.toml``).  A plan never places more
there than the quota (its deploy would fail at the next table): the
resources past it go to their next backend, or the plan is refused with the
numbers.  The quotas here are lowered by an extending catalog, so that small
apps reach them; the oracle of ``solver/`` reads the same files on its own
and proves the optimum within them.
"""

from __future__ import annotations

import types
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from skaal import App, Every, Map, Queue, Topic
from skaal.blueprint.model import Blueprint
from skaal.catalog.loader import load_catalog
from skaal.errors import CatalogError, UnsatisfiableError
from skaal.plan.model import Plan
from skaal.solver import Diagnosis, GlobalConflict, counts, solve
from skaal.solver.count_pools import Quotas
from skaal.solver.count_rows import CountRows
from skaal.solver.counts import ORDERS, _kept
from skaal.solver.decompose import Group, Unit, UnitOption
from skaal.solver.feasibility import build_problem
from skaal.solver.pooled import _within_rooms
from solver.draws import draw_blueprint, write_app
from solver.oracle import audit, read_catalog, solve_exact


def _catalog(tmp_path: Path, base: str, table: str, quota: int, *, top: str = "") -> Path:
    path = tmp_path / f"{base}-small-{quota}.toml"
    path.write_text(
        f'schema_version = 2\nname = "{base}-small"\nextends = "{base}"\n{top}\n'
        f"[{table}]\nquota = {quota}\n",
        encoding="utf-8",
    )
    return path


#: The gcp servers, no longer serving queues (Pub/Sub then is the only one that does).
_QUEUE_SERVERS = "".join(
    f'[backends.{name}]\nkinds = ["map"]\n'
    for name in (
        "memorystore-redis",
        "memorystore-redis-standard",
        "cloudsql-postgres",
        "cloudsql-postgres-ha",
    )
)


def _maps(count: int, *, chained: bool = False) -> App:
    """``count`` small durable maps, each cheapest on DynamoDB alone ($1.18-2.79 a month
    against an RDS Multi-AZ instance and its network)."""
    app = App("tables")
    declared: list[type] = []
    for i in range(count):
        peer = {"collocate_with": declared[0]} if chained and i == 1 else {}
        declared.append(
            app.storage(
                read_latency="< 20ms",
                durability="durable",
                size=f"{0.1 * (i + 1):.1f}GB",
                reads=f"{i + 1}/s",
                writes="1/s",
                **peer,
            )(types.new_class(f"M{i}", (Map[str, str],)))
        )
    return app


def _tables(plan: Plan) -> list[str]:
    return sorted(b.resource for b in plan.bindings if b.backend == "dynamodb")


def test_the_bundled_catalogs_state_the_providers_count_quotas() -> None:
    aws = {b.name: b for b in load_catalog("aws").backends}
    (tables,) = aws["dynamodb"].counts
    assert (tables.name, tables.quota, tables.scope, tables.adjustable) == (
        "tables",
        2500,
        "region",
        True,
    )
    assert tables.used_by("map") == tables.used_by("collection") == 1
    assert tables.used_by("blob") == 0
    gcp = {b.name: b for b in load_catalog("gcp").backends}
    topics, subscriptions = gcp["pubsub"].counts
    assert (topics.quota, topics.scope, topics.used_by("queue"), topics.used_by("topic")) == (
        10_000,
        "account",
        3,
        1,
    )
    assert (subscriptions.used_by("queue"), subscriptions.adjustable) == (3, False)
    roles, integrations = aws["lambda"].counts
    assert (roles.name, roles.quota, roles.reserved, roles.room, roles.scope) == (
        "roles",
        1000,
        2,
        998,
        "account",
    )
    assert (roles.used_by("function"), roles.used_by("function", scheduled=True)) == (1, 2)
    assert roles.used_by("function", routed=True) == 1
    assert (integrations.name, integrations.room, integrations.scope) == (
        "integrations",
        299,
        "app",
    )
    assert (integrations.used_by("function"), integrations.adjustable) == (0, False)
    assert integrations.used_by("function", routed=True, scheduled=True) == 1
    (accounts,) = gcp["cloud-run"].counts
    assert (accounts.name, accounts.quota, accounts.room, accounts.adjustable) == (
        "service-accounts",
        100,
        96,
        True,
    )
    assert accounts.used_by("function", scheduled=True) == 1


def test_within_the_quota_nothing_changes(tmp_path: Path) -> None:
    app = _maps(5)
    bundled = solve(app.blueprint(), load_catalog("aws"))
    roomy = solve(
        app.blueprint(),
        load_catalog(_catalog(tmp_path, "aws", "backends.dynamodb.counts.tables", 5)),
    )
    assert _tables(bundled) == _tables(roomy) == ["M0", "M1", "M2", "M3", "M4"]
    assert roomy.total_monthly_cost == bundled.total_monthly_cost
    assert roomy.status == "optimal"


def test_tables_past_the_quota_move_and_the_plan_is_proven_by_the_oracle(tmp_path: Path) -> None:
    app = _maps(5)
    path = _catalog(tmp_path, "aws", "backends.dynamodb.counts.tables", 3)
    plan = solve(app.blueprint(), load_catalog(path))
    assert len(_tables(plan)) <= 3
    oracle = solve_exact(app.blueprint(), read_catalog(path))
    assert oracle.status == "optimal"
    assert plan.total_monthly_cost == pytest.approx(oracle.total, abs=0.01)
    assert plan.status == "optimal"  # the bound of one table leaving proves it
    assert audit(plan, app.blueprint(), read_catalog(path)) == []
    moved = [b for b in plan.bindings if b.backend != "dynamodb"]
    assert any("than the provider's quota of 3" in b.reason for b in moved)
    # without the quota the oracle's audit refuses the cheaper plan of five tables
    unbounded = solve(app.blueprint(), load_catalog("aws"))
    assert audit(unbounded, app.blueprint(), read_catalog(path)) == [
        "5 tables on dynamodb in us-east-1, the quota is 3"
    ]


def test_co_located_tables_stay_or_move_together(tmp_path: Path) -> None:
    app = _maps(5, chained=True)
    path = _catalog(tmp_path, "aws", "backends.dynamodb.counts.tables", 4)
    plan = solve(app.blueprint(), load_catalog(path))
    on = {b.resource: (b.backend, b.instance) for b in plan.bindings}
    assert on["M0"] == on["M1"]
    assert len(_tables(plan)) <= 4
    assert audit(plan, app.blueprint(), read_catalog(path)) == []
    assert plan.total_monthly_cost == pytest.approx(
        solve_exact(app.blueprint(), read_catalog(path)).total, abs=0.01
    )


def test_the_same_inputs_give_the_same_plan(tmp_path: Path) -> None:
    app = _maps(6)
    catalog = load_catalog(_catalog(tmp_path, "aws", "backends.dynamodb.counts.tables", 2))
    first = solve(app.blueprint(), catalog)
    assert solve(app.blueprint(), catalog).content_hash() == first.content_hash()


def _heavy(count: int, writes: str) -> App:
    """``count`` durable maps of ``writes``: DynamoDB or RDS Multi-AZ serve them."""
    app = App("heavy")
    for i in range(count):
        app.storage(read_latency="< 20ms", durability="durable", size="1GB", reads="1/s",
                    writes=writes)(types.new_class(f"H{i}", (Map[str, str],)))  # fmt: skip
    return app


def _stuck(tmp_path: Path, *, tables: int, instances: int) -> Path:
    """The aws catalog holding ``tables`` DynamoDB tables and ``instances`` RDS instances."""
    path = tmp_path / "stuck.toml"
    path.write_text(
        'schema_version = 2\nname = "aws-stuck"\nextends = "aws"\n'
        f"[backends.dynamodb.counts.tables]\nquota = {tables}\n"
        f"[backends.rds-postgres.server]\nquota = {instances}\n"
        f"[backends.rds-postgres-multi-az.server]\nquota = {instances}\n",
        encoding="utf-8",
    )
    return path


def _never(*_: object) -> object:
    raise AssertionError("refused by counting, before the pooled relaxation")


def _counted_out(
    blueprint: Blueprint, path: Path, monkeypatch: pytest.MonkeyPatch
) -> GlobalConflict:
    """The one conflict planning ``blueprint`` on the catalog at ``path`` is refused with,
    found by counting (no pooled relaxation is solved)."""
    monkeypatch.setattr("skaal.solver.pooled.solve_pooled", _never)
    with pytest.raises(UnsatisfiableError) as caught:
        solve(blueprint, load_catalog(path))
    report = caught.value.report
    assert isinstance(report, Diagnosis)
    (found,) = report.conflicts
    return found


def test_tables_moved_off_that_fit_nowhere_else_are_refused_with_both_reasons(
    tmp_path: Path,
) -> None:
    # six maps of 3,500 writes/s: DynamoDB holds three tables, RDS two instances of
    # 6,400 writes/s at most (Multi-AZ), one map each: five places for six maps.  No
    # count proves it (the instances hold 3.7 of them pooled), so the planner tries
    # and says it did not prove it; the oracle does.
    app = _heavy(6, "3500/s")
    path = _stuck(tmp_path, tables=3, instances=2)
    assert solve(app.blueprint(), load_catalog("aws")).status == "optimal"
    with pytest.raises(UnsatisfiableError) as caught:
        solve(app.blueprint(), load_catalog(path))
    text = str(caught.value)
    assert "create more tables than one account holds there (3)" in text
    assert "it does not prove that no choice would fit" in text
    assert "conflict on server capacity" in text
    assert "[backends.dynamodb.counts.tables]" in text
    assert solve_exact(app.blueprint(), read_catalog(path)).status == "infeasible"


def test_maps_past_the_tables_and_the_servers_writes_are_refused_by_counting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # five maps of 5,000 writes/s, three tables and one instance of 6,400 writes/s:
    # the tables take three maps at most, the two others need 10,000 writes/s
    app = _heavy(5, "5000/s")
    path = _stuck(tmp_path, tables=3, instances=1)
    found = _counted_out(app.blueprint(), path, monkeypatch)
    assert found.constraint == "server capacity and quota"
    assert found.detail == (
        "5 resources can only be placed on dynamodb or rds-postgres-multi-az; dynamodb holds "
        "at most 3 of them (3 tables in us-east-1), and the other 2 need at least 10,000/s of "
        "writes, and the largest plan the catalog allows holds 6,400/s (1 x 6,400/s on "
        "rds-postgres-multi-az instances of the largest class)"
    )
    assert found.relaxation == (
        "add a larger class to rds-postgres-multi-az, raise [backends.rds-postgres-multi-az."
        "server] quota, [backends.dynamodb.counts.tables] quota (a quota request), or relax "
        'durability="ephemeral" on H0 (to use elasticache-redis)'
    )
    assert solve_exact(app.blueprint(), read_catalog(path)).status == "infeasible"
    # four fit (three tables, one map on the instance): the count lets them through
    monkeypatch.undo()
    plan = solve(_heavy(4, "5000/s").blueprint(), load_catalog(path))
    assert audit(plan, _heavy(4, "5000/s").blueprint(), read_catalog(path)) == []


@pytest.mark.parametrize(
    "case",
    [
        (
            "aws",
            lambda: _heavy(1011, "1/s"),
            "[backends.dynamodb.counts.tables]\nquota = 10\n"
            "[backends.rds-postgres.server]\nquota = 1\n"
            "[backends.rds-postgres-multi-az.server]\nquota = 1\n",
            "1,011 resources can only be placed on dynamodb or rds-postgres-multi-az, and the "
            "largest plan the catalog allows holds 1,010 resources (1 x 1,000 on "
            "rds-postgres-multi-az + 10 on dynamodb (10 tables in us-east-1))",
        ),
        (
            "gcp",
            lambda: _queues(1005),
            "[backends.pubsub.counts.topics]\nquota = 13\n"
            + "".join(
                f"[backends.{name}.server]\nquota = 1\n"
                for name in ("cloudsql-postgres", "cloudsql-postgres-ha")
            ),
            "1,005 resources can only be placed on cloudsql-postgres-ha or pubsub, and the "
            "largest plan the catalog allows holds 1,004 resources (1 x 1,000 on "
            "cloudsql-postgres-ha + 4 on pubsub (13 topics in one account, 3 a resource))",
        ),
    ],
)
def test_resources_past_the_count_quota_and_the_servers_are_refused_by_counting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[str, Callable[[], App], str, str]
) -> None:
    # what the servers' quota holds plus what the count quota leaves, one short: the
    # count says so before any relaxation is solved (aws profiles 100,000: 66,672 maps
    # against 40,000 on RDS and 2,500 tables)
    base, app, catalog, detail = case
    path = tmp_path / "short.toml"
    path.write_text(
        f'schema_version = 2\nname = "short"\nextends = "{base}"\n{catalog}', encoding="utf-8"
    )
    found = _counted_out(app().blueprint(), path, monkeypatch)
    assert found.detail == detail
    assert found.relaxation is not None
    assert "quota (a quota request)" in found.relaxation


def _queues(count: int) -> App:
    app = App("queues")
    for i in range(count):
        app.queue(durability="durable")(types.new_class(f"Q{i}", (Queue[str],)))
    return app


def test_queues_past_the_topics_move_to_a_server(tmp_path: Path) -> None:
    # four queues are twelve topics: with room for ten, one queue at least leaves Pub/Sub
    app = _queues(4)
    path = _catalog(tmp_path, "gcp", "backends.pubsub.counts.topics", 10)
    plan = solve(app.blueprint(), load_catalog(path))
    assert sum(b.backend == "pubsub" for b in plan.bindings) <= 3
    assert audit(plan, app.blueprint(), read_catalog(path)) == []
    oracle = solve_exact(app.blueprint(), read_catalog(path))
    assert plan.total_monthly_cost == pytest.approx(oracle.total, abs=0.01)
    assert plan.status == "optimal"


def test_a_topics_subscribers_count_in_the_subscriptions(tmp_path: Path) -> None:
    # News and its three subscribers: three subscriptions; each queue three more
    app = _queues(2)

    @app.topic(messages="10/s")
    class News(Topic[str]): ...

    for i in range(3):
        app.subscriber(News)(_handler(f"on_news_{i}"))
    roomy = _catalog(tmp_path, "gcp", "backends.pubsub.counts.subscriptions", 9)
    nine = plan = solve(app.blueprint(), load_catalog(roomy))
    assert {b.resource: b.backend for b in plan.bindings if b.kind != "function"} == {
        "News": "pubsub",
        "Q0": "pubsub",
        "Q1": "pubsub",
    }
    tight = _catalog(tmp_path, "gcp", "backends.pubsub.counts.subscriptions", 8)
    eight = plan = solve(app.blueprint(), load_catalog(tight))
    # nine subscriptions asked, eight held: News, whose subscribers poll on Cloud Run,
    # goes to a Memorystore instance ($35.77), cheaper than a queue's Cloud SQL one
    assert {b.resource: b.backend for b in plan.bindings if b.kind != "function"} == {
        "News": "memorystore-redis",
        "Q0": "pubsub",
        "Q1": "pubsub",
    }
    assert plan.status == "optimal"  # one of News and the queues leaves: News is cheaper
    # the oracle counts the subscriptions on its own and finds the same optimum; it refuses
    # the plan of the roomy catalog, which places nine
    for path, found, placed in ((roomy, nine, "roomy"), (tight, eight, "tight")):
        oracle = solve_exact(app.blueprint(), read_catalog(path))
        assert found.total_monthly_cost == pytest.approx(oracle.total, abs=0.01), placed
        assert audit(found, app.blueprint(), read_catalog(path)) == [], placed
    assert audit(nine, app.blueprint(), read_catalog(tight)) == [
        "9 subscriptions on pubsub in the account, the quota is 8"
    ]


def _handler(name: str) -> Callable[[str], Awaitable[None]]:
    async def handle(message: str) -> None: ...

    handle.__name__ = handle.__qualname__ = name
    return handle


def test_queues_only_pubsub_serves_past_its_topics_are_refused_with_the_numbers(
    tmp_path: Path,
) -> None:
    app = _queues(4)
    path = _catalog(tmp_path, "gcp", "backends.pubsub.counts.topics", 10, top=_QUEUE_SERVERS)
    with pytest.raises(UnsatisfiableError) as caught:
        solve(app.blueprint(), load_catalog(path))
    text = str(caught.value)
    assert "4 queues can only be placed on pubsub" in text
    assert "12 topics (3 per queue, 1 per topic) in one account" in text
    assert "holds at most 10" in text
    assert "the provider does not raise it" in text
    assert solve_exact(app.blueprint(), read_catalog(path)).status == "infeasible"
    # three queues make nine topics: within
    plan = solve(_queues(3).blueprint(), load_catalog(path))
    assert {b.backend for b in plan.bindings} == {"pubsub"}


def _functions(count: int, *, scheduled: int = 0) -> App:
    """``count`` HTTP functions and ``scheduled`` functions on a schedule."""
    app = App("functions")
    for i in range(count):
        app.function()(_handler(f"f{i}"))
    for i in range(scheduled):
        app.schedule(Every("1h"))(_handler(f"s{i}"))
    return app


@pytest.mark.parametrize(
    ("base", "table", "words"),
    [
        (
            "aws",
            "backends.lambda.counts.roles",
            "6 roles (1 per function, 1 more per function on a schedule) in one account: one "
            "account holds at most 7 there, 2 of them for what the build creates for the app",
        ),
        (
            "gcp",
            "backends.cloud-run.counts.service-accounts",
            "4 service-accounts (1 per function) in one account: one account holds at most 7 "
            "there, 4 of them for what the build creates for the app",
        ),
    ],
)
def test_functions_past_their_identities_quota_are_refused_before_any_solve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base: str, table: str, words: str
) -> None:
    # each function runs as an identity of its own (an IAM role, a service account); a
    # function on a schedule adds the role its scheduler invokes it with on aws
    path = _catalog(tmp_path, base, table, 7)
    app = _functions(2, scheduled=2)

    def never(*_: object) -> object:
        raise AssertionError("refused by counting, before any optimisation")

    with monkeypatch.context() as patched:
        patched.setattr("skaal.solver._cheapest", never)
        with pytest.raises(UnsatisfiableError) as caught:
            solve(app.blueprint(), load_catalog(path))
    text = str(caught.value)
    assert "4 functions can only be placed on" in text
    assert words in text
    assert "ask the provider to raise it" in text
    assert "split the app across accounts, or declare fewer of them (1 " in text  # none else
    assert solve_exact(app.blueprint(), read_catalog(path)).status == "infeasible"
    # what the quota leaves once the build's own are kept, to the last one
    within = _functions(3 if base == "aws" else 2, scheduled=1)
    plan = solve(within.blueprint(), load_catalog(path))
    assert audit(plan, within.blueprint(), read_catalog(path)) == []
    assert audit(solve(app.blueprint(), load_catalog(base)), app.blueprint(), read_catalog(path))
    assert counts.refuse_fixed(build_problem(within.blueprint(), load_catalog(path))) is None


def test_functions_the_http_api_routes_to_past_its_integrations_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the app's one HTTP API holds 300 integrations, not raised: one per function it
    # routes to, one for its default route; functions on a schedule or consuming a
    # queue are not routed, and do not count
    app = _functions(300, scheduled=5)
    monkeypatch.setattr("skaal.solver._cheapest", _never)
    with pytest.raises(UnsatisfiableError) as caught:
        solve(app.blueprint(), load_catalog("aws"))
    text = str(caught.value)
    assert (
        "300 functions can only be placed on lambda, and together they create 300 integrations "
        "(1 per function the HTTP API routes to) in one app: one app holds at most 300 there, "
        "1 of them for what the build creates for the app itself"
    ) in text
    assert "the provider does not raise it: split the app, or declare fewer of them" in text
    assert solve_exact(app.blueprint(), read_catalog("aws")).status == "infeasible"
    monkeypatch.undo()
    within = _functions(299, scheduled=5)
    plan = solve(within.blueprint(), load_catalog("aws"))
    assert audit(plan, within.blueprint(), read_catalog("aws")) == []


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[backends.dynamodb.counts.tables]\nper_kind = { blob = 1 }\n", "does not serve"),
        ("[backends.lambda.counts.roles]\nreserved = 1000\n", "leaves nothing of the quota"),
        (
            "[backends.dynamodb.counts.tables]\nper_schedule = 1\n",
            "per_schedule counts functions on a schedule",
        ),
        (
            "[backends.dynamodb.counts.tables]\nper_route = 1\n",
            "per_route counts functions the API routes to",
        ),
        ('[backends.dynamodb.counts.tables]\nscope = "api"\n', "scope"),
        (
            "[backends.rds-postgres.counts.instances]\nquota = 3\nper_kind = { map = 1 }\n",
            "count against its [server] quota",
        ),
        ("[backends.dynamodb.counts.tables]\nqouta = 3\n", "(did you mean 'quota'?)"),
        ('[backends.dynamodb.counts.tables]\nname = "t"\n', "name comes from its table key"),
        ("[backends.dynamodb.counts.tables]\nquota = 0\n", "quota = 0: input should be greater"),
        ("[backends.dynamodb]\ncounts = 3\n", "counts must be a table of count quotas"),
    ],
)
def test_a_bad_count_quota_is_a_clear_catalog_error(
    tmp_path: Path, table: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        f'schema_version = 2\nname = "bad"\nextends = "aws"\n\n{table}', encoding="utf-8"
    )
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert message in str(caught.value)
    assert "bad.toml" in str(caught.value)


def test_a_chain_of_co_located_tables_is_kept_or_moved_whole(tmp_path: Path) -> None:
    # alone, Tiny would move first (it takes least of a server); with its peer Big
    # the chain takes more per table than Mid, so the chain stays and Mid moves
    app = App("chain")
    declared = {"read_latency": "< 20ms", "durability": "persistent", "size": "1GB"}
    big = app.storage(**declared, reads="1/s", writes="3000/s")(
        types.new_class("Big", (Map[str, str],))
    )
    app.storage(**declared, reads="1/s", writes="10/s", collocate_with=big)(
        types.new_class("Tiny", (Map[str, str],))
    )
    app.storage(**declared, reads="1/s", writes="1000/s")(types.new_class("Mid", (Map[str, str],)))
    path = _catalog(tmp_path, "aws", "backends.dynamodb.counts.tables", 2)
    problem = build_problem(app.blueprint(), load_catalog(path))
    quotas = Quotas(problem)
    pool = ("dynamodb", "tables", "us-east-1")
    members = ["Big", "Mid", "Tiny"]
    for order in ORDERS:
        kept, _ = _kept(problem, quotas, pool, members, order=order)
        assert {"Big", "Tiny"} <= kept or not {"Big", "Tiny"} & kept, order
        assert len(kept) <= 2
    kept, _ = _kept(problem, quotas, pool, members, order="burden")
    assert kept == {"Big", "Tiny"}


def test_a_large_app_is_kept_within_the_topics_in_one_optimisation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a users draw of 2,000 resources on gcp, Pub/Sub holding 60 topics (20 queues):
    # its relaxation (linear, the component being large) places more queues there, so
    # it is solved again within a row per pool, and the queues it puts elsewhere lose
    # Pub/Sub for the rest of the optimisation: nothing is optimised a second time
    blueprint = draw_blueprint(write_app(tmp_path / "app.py", "users", 2000, seed=1))
    path = _catalog(tmp_path, "gcp", "backends.pubsub.counts.topics", 60)
    again: list[object] = []
    fit = counts._fit
    monkeypatch.setattr(counts, "_fit", lambda *a, **k: again.append(a) or fit(*a, **k))
    plan = solve(blueprint, load_catalog(path))
    assert again == []
    on_pubsub = [b for b in plan.bindings if b.backend == "pubsub"]
    assert {b.kind for b in on_pubsub} == {"queue"}
    assert 0 < len(on_pubsub) <= 20  # within it
    assert audit(plan, blueprint, read_catalog(path)) == []
    # the queues kept off Pub/Sub say why
    off = [b for b in plan.bindings if b.kind == "queue" and b.backend != "pubsub"]
    said = "not pubsub: the resources able to use it would create more topics than one"
    assert sum(said in b.reason for b in off) >= 21
    # the bundled catalog holds them all: there the plan places more queues on Pub/Sub
    roomy = solve(blueprint, load_catalog("gcp"))
    assert sum(b.backend == "pubsub" for b in roomy.bindings) == 41


def test_rounding_brings_a_pool_within_its_room() -> None:
    # two groups of queues split between Pub/Sub and a server: rounding handed Pub/Sub
    # one queue too many (15 topics where the row holds 12); the last group's goes to
    # its cheapest other option, Memorystore
    pool = ("pubsub", "topics", "")
    weights = {f"Q{i}": {pool: 3} for i in range(6)}
    rows = CountRows({pool: 12}, weights, frozenset({"pubsub"}))
    options = (UnitOption("pubsub", 10, 0), UnitOption("memorystore-redis", 2, 1))
    grouped = [
        Group(tuple(Unit((f"Q{i}",), options, (0, 0, 0, 1)) for i in range(g * 3, g * 3 + 3)))
        for g in range(2)
    ]
    model = types.SimpleNamespace(
        cost=[8.0, 0.0, 8.0, 0.0],
        placement=[[("pubsub", None, 0), ("memorystore-redis", None, 1)],
                   [("pubsub", None, 2), ("memorystore-redis", None, 3)]],
    )  # fmt: skip
    counts = [[("pubsub", None, 2), ("memorystore-redis", None, 1)], [("pubsub", None, 3)]]
    _within_rooms(counts, model, grouped, rows, frozenset({pool}))  # type: ignore[arg-type]
    assert counts == [
        [("pubsub", None, 2), ("memorystore-redis", None, 1)],
        [("pubsub", None, 2), ("memorystore-redis", None, 1)],
    ]
