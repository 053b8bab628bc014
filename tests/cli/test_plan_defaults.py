"""The plan table marks what rests on defaults, and the total says how much does.

A quantity the declaration leaves out (1 GB per store, 1 request/s, 0.5 GB
of memory...) is priced by a documented default; a row whose cost depends on
one is marked ``*`` and the line under the total gives the dollar share.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from types import new_class

import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from skaal import App, BlobStore, Collection, Every, Map, Queue, Topic
from skaal.cli.main import cli
from skaal.cli.render import _share_text
from skaal.plan.model import CostLine
from skaal.solver.cost import _DRIVERS, SECONDS_PER_MONTH, assumed_cost, assumed_costs, workload
from skaal.solver.problem import Workload

APP = """
from skaal import App, Map

app = App("defaults")

@app.storage(durability="persistent", size="2GB", reads="5/s", writes="1/s")
class Declared(Map[str, str]): ...

@app.storage(durability="persistent")
class Guessed(Map[str, str]): ...

@app.function(invocations="0.1/s", memory="0.25GB")
async def told(x: int) -> int:
    return x

@app.function()
async def untold(x: int) -> int:
    return x
"""


def _plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    (tmp_path / "app.py").write_text(source)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "app.py:app", "--target", "aws", "--no-write"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_rows_resting_on_defaults_are_marked_and_the_total_says_how_much(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _plan(tmp_path, monkeypatch, APP)
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert "*" not in rows["Declared"].split("│")[5]
    assert "*" not in rows["told"].split("│")[5]
    assert rows["Guessed"].split("│")[5].strip().endswith("*")
    assert rows["untold"].split("│")[5].strip().endswith("*")
    assert "rests on defaults for invocations, memory, reads, size, writes" in out
    assert "left undeclared on 2 resources" in out


def test_a_fully_declared_app_has_no_defaults_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = APP.split('@app.storage(durability="persistent")\nclass Guessed', maxsplit=1)[0]
    declared = kept + (
        '@app.function(invocations="0.1/s", memory="0.25GB")\n'
        "async def told(x: int) -> int:\n    return x\n"
    )
    out = _plan(tmp_path, monkeypatch, declared)
    assert "rests on defaults" not in out
    assert "*" not in "".join(
        line.split("│")[5] for line in out.splitlines() if line.startswith("│")
    )


def test_the_assumed_share_follows_each_line_s_quantities() -> None:
    load = Workload(1.0, 1.0, 0.0, 0.0, 0.0, defaulted=("size",))
    lines = (
        CostLine(component="per_gb_month", quantity=1.0, monthly=0.25),
        CostLine(component="per_million_reads", quantity=2.628, monthly=0.66),
        CostLine(component="fixed_monthly", quantity=1.0, monthly=5.0),
    )
    assert assumed_cost(load, lines) == (0.25, ("size",))
    assert assumed_cost(load, ()) == (0.0, ())


def test_a_function_s_defaults_are_its_invocations_and_memory() -> None:
    app = App("fns")

    @app.function()
    async def f() -> None: ...

    (spec,) = [s for s in app.blueprint().resources if s.kind == "function"]
    load = workload(spec)
    assert {"invocations", "memory"} <= set(load.defaulted)
    lines = (
        CostLine(
            component="per_million_requests",
            quantity=SECONDS_PER_MONTH / 1e6,
            monthly=3.15,
        ),
    )
    assert assumed_cost(load, lines) == (3.15, ("invocations",))


@pytest.mark.parametrize(
    ("part", "whole", "text"),
    [
        (461.86, 1_950_909.52, "<1%"),
        (0.0, 100.0, "0%"),
        (12.0, 100.0, "12%"),
        (99.7, 100.0, ">99%"),
        (100.0, 100.0, "100%"),
        (0.0, 0.0, "0%"),
    ],
)
def test_the_share_resting_on_defaults_is_never_shown_as_none_or_all_when_it_is_not(
    part: float, whole: float, text: str
) -> None:
    # $461.86 of a $1,950,909.52 plan (the users draw of 1,000 on aws) was "(0%)".
    assert _share_text(part, whole) == text


class Item(BaseModel):
    id: str


def _declared_every_way() -> App:
    """Every kind with every subset of the quantities ``workload`` may default declared,
    twice each with other values (a pattern met again), functions with and without a
    schedule."""
    app = App("patterns")
    quantities = {"size": ("3GB", "40GB"), "reads": ("2/s", "700/s"), "writes": ("1/s", "9/s")}
    bases = {"map": Map[str, str], "collection": Collection[Item], "blob": BlobStore}
    for kind, base in bases.items():
        decorator = app.blob if kind == "blob" else app.storage
        for n in range(len(quantities) + 1):
            for declared in combinations(sorted(quantities), n):
                for turn in (0, 1):
                    values = {q: quantities[q][turn] for q in declared}
                    name = f"{kind}_{'_'.join(declared) or 'none'}_{turn}"
                    decorator(**values)(new_class(name, (base,)))  # type: ignore[arg-type]
    for kind, base in (("queue", Queue[str]), ("topic", Topic[str])):
        declare = app.queue if kind == "queue" else app.topic
        for turn, messages in enumerate((None, None, "5/s", "80/s")):
            values = {} if messages is None else {"messages": messages}
            declare(**values)(new_class(f"{kind}_{turn}", (base,)))  # type: ignore[arg-type]
    for turn, values in enumerate(
        ({}, {}, {"invocations": "3/s"}, {"memory": "1GB"}, {"invocations": "9/s", "memory": "2GB"})
    ):

        async def handler() -> None: ...

        handler.__name__ = handler.__qualname__ = f"fn_{turn}"
        app.function(**values)(handler)  # type: ignore[arg-type]

        async def job() -> None: ...

        job.__name__ = job.__qualname__ = f"job_{turn}"
        memory = values.get("memory")
        if memory is None:
            app.schedule(Every("1h"))(job)
        else:
            app.schedule(Every("1h"), memory=memory)(job)
    return app


def test_the_assumed_share_of_every_declaration_pattern_is_its_own_workload_s() -> None:
    lines = tuple(
        CostLine(component=f"fee {component}", quantity=1.0, monthly=1.0 + 0.5 * i)
        for i, component in enumerate(sorted(_DRIVERS))
    )
    assumed = assumed_costs()  # one for all: each pattern is worked out once
    specs = _declared_every_way().blueprint().resources
    assert {s.kind for s in specs} == {"map", "collection", "blob", "queue", "topic", "function"}
    assert any(s.schedule is not None for s in specs)
    for spec in specs:
        assert assumed(spec, lines) == assumed_cost(workload(spec), lines), spec.name
