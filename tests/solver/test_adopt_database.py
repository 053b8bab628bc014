"""Adopting an existing PostgreSQL server: declared with its secret, planned at $0, no instance.

The declaration names the server (an RDS instance or Aurora cluster ARN, a
Cloud SQL connection name) and the secret holding its credentials; the plan
places the resource on the catalog's PostgreSQL backend in the server's
region, records the adoption, opens no instance for it and counts none of
its fees.  Bad forms are declaration errors, and ``skaal plan`` exits 2 on
them without repeating a connection URL.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from skaal import App, Map
from skaal.catalog.loader import load_catalog
from skaal.cli.main import cli
from skaal.declare.existing import Existing, parse_existing, shown
from skaal.errors import DeclarationError, PlanError, UnsatisfiableError
from skaal.model.grammar import GrammarError
from skaal.plan.bill import bill_of
from skaal.plan.lock import read_lock, write_lock
from skaal.plan.model import STATED_COMPONENT, CostLine
from skaal.plan.wiring import servers
from skaal.solver import solve

RDS = "arn:aws:rds:eu-west-1:123456789012:db:legacy-shop"
AURORA = "arn:aws:rds:eu-west-1:123456789012:cluster:legacy-orders"
AWS_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop-db-AbCdEf"
CLOUD_SQL = "acme-prod:europe-west1:legacy-shop"
GCP_SECRET = "projects/acme-prod/secrets/shop-db"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"{RDS} secret={AWS_SECRET}",
            Existing("legacy-shop", ("postgres",), "aws", "eu-west-1", RDS, AWS_SECRET),
        ),
        (
            f" {AURORA}   secret={AWS_SECRET} ",
            Existing("legacy-orders", ("postgres",), "aws", "eu-west-1", AURORA, AWS_SECRET),
        ),
        (
            f"{CLOUD_SQL} secret={GCP_SECRET}",
            Existing("legacy-shop", ("postgres",), "gcp", "europe-west1", CLOUD_SQL, GCP_SECRET),
        ),
    ],
)
def test_a_server_and_its_secret_are_read(text: str, expected: Existing) -> None:
    assert parse_existing(text, "map") == expected
    assert parse_existing(text, "collection") == expected


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        (RDS, "map", "names a database server but not the secret holding its credentials"),
        (f"{RDS} secret={GCP_SECRET}", "map", "is not a Secrets Manager secret ARN"),
        (f"{CLOUD_SQL} secret={AWS_SECRET}", "map", "is not a Secret Manager secret path"),
        (f"{RDS} password={AWS_SECRET}", "map", "only 'secret=SECRET' and 'cost="),
        (f"{RDS} secret={AWS_SECRET} extra", "map", "only 'secret=SECRET' and 'cost="),
        (f"{RDS} secret={AWS_SECRET} secret={AWS_SECRET}", "map", "each once"),
        (f"{RDS} cost=120/month", "map", "not the secret holding its credentials"),
        (f"{RDS} secret={AWS_SECRET} cost=-5/month", "map", "'-5/month' is not a monthly price"),
        (f"{RDS} secret={AWS_SECRET} cost=lots", "map", "'lots' is not a monthly price"),
        (f"{RDS} secret={AWS_SECRET} cost=12/year", "map", "'12/year' is not a monthly price"),
        (f"{RDS} secret={AWS_SECRET} cost=nan", "map", "'nan' is not a monthly price"),
        ("legacy-carts cost=5/month", "map", "cost= prices an adopted database server only"),
        (f"{RDS} secret={AWS_SECRET}", "blob", "holds a collection or map, not a blob"),
        (f"{CLOUD_SQL} secret={GCP_SECRET}", "queue", "holds a collection or map, not a queue"),
    ],
)
def test_what_a_server_declaration_refuses(text: str, kind: str, message: str) -> None:
    with pytest.raises(GrammarError, match=message):
        parse_existing(text, kind)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "amount"), [("120/month", 120.0), ("89.50/month", 89.5), ("0", 0.0)]
)
def test_a_server_states_its_cost(written: str, amount: float) -> None:
    found = parse_existing(f"{RDS} cost={written} secret={AWS_SECRET}", "map")
    assert (found.server, found.secret, found.monthly_cost) == (RDS, AWS_SECRET, amount)


def test_a_url_as_the_secret_is_refused_without_repeating_it() -> None:
    app = App("shop")
    with pytest.raises(DeclarationError) as raised:

        @app.storage(existing=f"{RDS} secret=postgresql://admin:s3cret@db/shop")
        class Orders(Map[str, int]): ...

    assert "not a connection URL" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def _app(existing: str, server: str = "rds-postgres") -> App:
    app = App("shop")

    @app.storage(existing=existing)
    class Orders(Map[str, int]): ...

    @app.storage(backend=server)
    class Sessions(Map[str, str]): ...

    @app.function()
    async def report() -> None:
        await Orders.get("a")

    return app


def test_an_rds_server_is_adopted_at_no_cost_and_opens_no_instance() -> None:
    plan = solve(_app(f"{RDS} secret={AWS_SECRET}").blueprint(), load_catalog("aws"))
    orders = plan.binding("Orders")
    assert (orders.implementation, orders.region, orders.adopted) == (
        "postgres",
        "eu-west-1",
        "legacy-shop",
    )
    assert (orders.instance, orders.monthly_cost, orders.cost) == (None, 0.0, ())
    assert "adopts the existing database server legacy-shop ($0.00/month" in orders.reason
    assert [i.resources for i in plan.instances] == [("Sessions",)]  # only the created one
    own = sum(b.monthly_cost for b in plan.bindings) + sum(i.fixed_monthly for i in plan.instances)
    assert plan.total_monthly_cost == pytest.approx(own + sum(n.monthly for n in plan.network))
    wired = {s.id: s for s in servers(plan)}
    assert wired["Orders"].resources == ("Orders",)  # a server of its own, with its variable
    assert wired["Orders"].env != wired["rds-postgres#1"].env


def test_a_stated_cost_prices_the_adopted_server_in_the_plan_and_the_lock(
    tmp_path: Path,
) -> None:
    free = solve(_app(f"{RDS} secret={AWS_SECRET}").blueprint(), load_catalog("aws"))
    app = _app(f"{RDS} secret={AWS_SECRET} cost=120/month")
    plan = solve(app.blueprint(), load_catalog("aws"))
    orders = plan.binding("Orders")
    assert (orders.instance, orders.monthly_cost) == (None, 120.0)
    assert orders.cost == (CostLine(component=STATED_COMPONENT, quantity=1, monthly=120.0),)
    assert "legacy-shop ($120.00/month, as its cost= states" in orders.reason
    assert plan.total_monthly_cost == pytest.approx(free.total_monthly_cost + 120.0)
    assert [i.resources for i in plan.instances] == [("Sessions",)]
    again = read_lock(write_lock(plan, tmp_path / "skaal.lock"))
    assert again.binding("Orders").monthly_cost == 120.0
    assert solve(app.blueprint(), load_catalog("aws"), previous=again) == plan
    line = next(li for li in bill_of(again).lines if li.owner == "Orders")
    assert (line.monthly, line.price.amount) == (120.0, 120.0)


def test_a_stated_cost_counts_against_the_budget() -> None:
    app = App("shop", budget="$100/month")

    @app.storage(existing=f"{RDS} secret={AWS_SECRET} cost=120/month")
    class Orders(Map[str, int]): ...

    with pytest.raises(UnsatisfiableError) as raised:
        solve(app.blueprint(), load_catalog("aws"))
    assert "Orders" in str(raised.value)


def test_a_bad_cost_is_a_declaration_error_at_its_line() -> None:
    app = App("shop")
    with pytest.raises(DeclarationError) as raised:

        @app.storage(existing=f"{RDS} secret={AWS_SECRET} cost=about-100")
        class Orders(Map[str, int]): ...

    assert "'about-100' is not a monthly price in US dollars" in raised.value.what
    assert "cost=120/month" in (raised.value.fix or "")
    assert "test_adopt_database.py" in str(raised.value.where)


def test_the_lock_keeps_the_adoption_and_replanning_keeps_the_plan(tmp_path: Path) -> None:
    app = _app(f"{RDS} secret={AWS_SECRET}")
    plan = solve(app.blueprint(), load_catalog("aws"))
    again = read_lock(write_lock(plan, tmp_path / "skaal.lock"))
    assert again == plan
    assert solve(app.blueprint(), load_catalog("aws"), previous=again) == plan


def test_a_cloud_sql_server_states_its_cost_on_gcp() -> None:
    plan = solve(
        _app(f"{CLOUD_SQL} secret={GCP_SECRET} cost=75.25/month", "cloudsql-postgres").blueprint(),
        load_catalog("gcp"),
    )
    orders = plan.binding("Orders")
    assert (orders.adopted, orders.instance, orders.monthly_cost) == ("legacy-shop", None, 75.25)
    assert sum(b.monthly_cost for b in plan.bindings) + sum(
        i.fixed_monthly for i in plan.instances
    ) + sum(n.monthly for n in plan.network) == pytest.approx(plan.total_monthly_cost)


def test_a_cloud_sql_server_is_adopted_on_gcp() -> None:
    plan = solve(
        _app(f"{CLOUD_SQL} secret={GCP_SECRET}", "cloudsql-postgres").blueprint(),
        load_catalog("gcp"),
    )
    orders = plan.binding("Orders")
    assert (orders.backend, orders.region, orders.adopted) == (
        "cloudsql-postgres",
        "europe-west1",
        "legacy-shop",
    )
    assert (orders.instance, orders.monthly_cost) == (None, 0.0)


def test_a_server_on_another_provider_is_a_plan_error() -> None:
    with pytest.raises(PlanError, match="a resource on aws, but catalog 'gcp' plans for gcp"):
        solve(
            _app(f"{RDS} secret={AWS_SECRET}", "cloudsql-postgres").blueprint(), load_catalog("gcp")
        )


def test_the_local_target_runs_it_locally() -> None:
    plan = solve(_app(f"{RDS} secret={AWS_SECRET}", "sqlite").blueprint(), load_catalog("local"))
    assert plan.binding("Orders").adopted is None


def test_skaal_plan_exits_2_on_a_server_without_its_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "app.py").write_text(
        "from skaal import App, Map\n"
        "app = App('shop')\n"
        f"@app.storage(existing={RDS!r})\n"
        "class Orders(Map[str, int]): ...\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "app:app", "--target", "aws"])
    assert result.exit_code == 2
    assert "not the secret holding its credentials" in result.stderr
    assert "app.py:3" in result.stderr
    assert "Traceback" not in result.output


def test_an_error_repeats_a_queue_url_but_never_a_connection_url() -> None:
    assert shown("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs") == repr(
        "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
    )
    assert "s3cret" not in shown(f"{RDS} secret=postgresql://admin:s3cret@db/shop")
    assert "s3cret" not in shown("postgresql://admin:s3cret@db/shop")
