"""Templates of the files ``skaal init`` writes (``str.format`` fields: name, package, version).

Literal braces are doubled (``{{``).  Each generated file must pass ruff and
run as is: ``tests/cli/test_init.py`` installs a generated project, runs its
tests and serves it.
"""

from __future__ import annotations

__all__ = ["APP", "GITIGNORE", "PACKAGE_INIT", "PYPROJECT", "README", "TEST_APP"]

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[project]
name = "{name}"
version = "0.1.0"
description = "A Skaal app: declare what its state needs, let skaal plan the backends."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["skaal[serve]>={version}"]

[project.optional-dependencies]
dev = ["pytest>=8", "pytest-asyncio>=0.23"]

[tool.hatch.build.targets.wheel]
packages = ["{package}"]
# `pip install -e .` puts this folder on sys.path (no extra build dependency)
dev-mode-dirs = ["."]

# `skaal plan`, `skaal run` and `skaal build` find the app here.
[tool.skaal]
app = "{package}.app:app"

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra --strict-markers --strict-config"
filterwarnings = ["error"]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "function"
"""

PACKAGE_INIT = '''\
"""{name}: a Skaal app (the app itself is in {package}.app)."""
'''

APP = '''\
"""{name}: a persistent counter per page and one HTTP function.

Serve it with ``skaal run``, then call ``visit`` at /fn/visit, or try it from
the docs page at http://127.0.0.1:8000/docs.
"""

from __future__ import annotations

from skaal import App, Map

app = App("{name}")


@app.storage(durability="persistent")
class Visits(Map[str, int]):
    """Visits per page; persistent, so they survive a restart."""


@app.function()
async def visit(page: str = "home") -> int:
    """Count a visit to ``page`` and return how many it has had."""
    return await Visits.increment(page)
'''

TEST_APP = '''\
"""Tests of {name}: each AppClient serves the app in-process on fresh local backends."""

from __future__ import annotations

from skaal.testing import AppClient

from {package}.app import Visits, app


async def test_visit_counts_each_page() -> None:
    async with AppClient(app) as client:
        assert await client.call("visit", page="home") == 1
        assert await client.call("visit", page="home") == 2
        assert await client.call("visit") == 3  # the default page is "home"
        assert await client.call("visit", page="about") == 1
        assert await client.runtime.client(Visits).get("home") == 3
'''

GITIGNORE = """\
# Skaal: local data of `skaal run` and generated artifacts (keep skaal.lock)
.skaal/
artifacts/
.env

# Python
__pycache__/
*.py[cod]
*.egg-info/
build/
dist/
.venv/
venv/
.pytest_cache/
.mypy_cache/
.ruff_cache/
"""

README = """\
# {name}

A Skaal app: `{package}/app.py` declares a
persistent `Visits` map and a `visit` function; `skaal plan` picks the
cheapest backends that meet what it declares.

## Set up

In the environment where Skaal is installed:

```bash
pip install -e '.[dev]'
```

## Run and test

```console
$ skaal run
$ curl -X POST localhost:8000/fn/visit -H 'content-type: application/json' -d '{{"page": "home"}}'
1
$ python -m pytest
```

`skaal run` serves every function at `/fn/<name>` with docs at
<http://localhost:8000/docs>; its local data lives in `.skaal/data`.

## Plan, build, deploy

```bash
skaal plan --target aws        # writes skaal.lock: commit it
skaal build --target aws       # writes artifacts/aws/
skaal deploy --target aws      # needs the deploy extra and the pulumi CLI
```

The app is found through `[tool.skaal] app` in `pyproject.toml`.
"""
