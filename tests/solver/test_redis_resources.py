"""A Redis node holds any number of resources: the runtime keys each under its own prefix.

The bundled catalogs once capped a Redis node at 16 resources ("one logical
database each"), which the runtime never did (every resource lives in
database 0 under ``skaal:<app>:<kind>:<resource>:``), so forty small caches
paid for three nodes where one holds them all.
"""

from __future__ import annotations

import pytest

from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from tests.solver._factories import blueprint, res


@pytest.mark.parametrize(
    ("catalog", "backend", "node"),
    [
        ("aws", "elasticache-redis", "cache.t4g.micro"),
        ("gcp", "memorystore-redis", "basic-1gb"),
        ("local-servers", "redis", "local"),
    ],
)
def test_forty_small_caches_share_one_node(catalog: str, backend: str, node: str) -> None:
    caches = [
        res(
            f"Cache{i:02d}",
            read_latency="< 1ms",
            durability="ephemeral",
            size_gb=0.005,
            reads_per_s=10.0,
            writes_per_s=1.0,
        )
        for i in range(40)
    ]
    # pinned: on local-servers the in-process memory backend would hold them for free
    plan = solve(blueprint(*caches), load_catalog(catalog), pins={c.name: backend for c in caches})
    (instance,) = plan.instances
    assert (instance.backend, instance.instance_class) == (backend, node)
    assert len(instance.resources) == 40
    cls = load_catalog(catalog).backend(backend).server
    assert cls is not None
    assert all(c.resources is None for c in cls.classes)
