"""``chosen_options``: each resource's option on its backend, looked up once per options tuple."""

from __future__ import annotations

from skaal.solver.feasibility import build_problem
from skaal.solver.problem import chosen_options
from skaal.testing import backend, catalog
from tests.solver._factories import blueprint, res

DYN = backend("dynamodb", kinds=("map", "collection"), per_gb_month=1.0)
FIRESTORE = backend("firestore", kinds=("map",), per_gb_month=0.5)


def test_alike_resources_on_different_backends_each_get_their_own_option() -> None:
    specs = [res(f"R{i}", size_gb=1.0) for i in range(4)] + [res("Big", size_gb=10.0)]
    problem = build_problem(blueprint(*specs), catalog(backends=[DYN, FIRESTORE]))
    alike = [r for r in problem.resources if r.spec.name != "Big"]
    assert all(r.options is alike[0].options for r in alike)  # the filter shares the tuple
    backends = {
        "R0": "dynamodb",
        "R1": "firestore",
        "R2": "dynamodb",
        "R3": "firestore",
        "Big": "dynamodb",
    }

    chosen = chosen_options(problem, backends)

    assert [o.backend for o in chosen] == [backends[r.spec.name] for r in problem.resources]
    expected = [
        next(o for o in r.options if o.backend == backends[r.spec.name]) for r in problem.resources
    ]
    assert chosen == expected
    by_name = {r.spec.name: o for r, o in zip(problem.resources, chosen, strict=True)}
    assert by_name["Big"].cost == 10.0 != by_name["R0"].cost
