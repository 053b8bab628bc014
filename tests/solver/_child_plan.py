"""Plan a drawn app in a fresh interpreter and say which heavy modules that loaded.

The exact paths (``skaal.solver.uniform``, ``skaal.solver.small``) promise
that planning the apps they decide imports neither numpy, HiGHS nor z3; only
a new process can tell, since the test session has long imported them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys
from pathlib import Path
from skaal.catalog.loader import load_catalog
from skaal.solver import solve
from solver.draws import draw_blueprint
plan = solve(draw_blueprint(Path(sys.argv[1])), load_catalog(sys.argv[2]))
loaded = sorted(m for m in ("numpy", "highspy", "z3") if m in sys.modules)
print(json.dumps({"status": plan.status, "loaded": loaded}))
"""


def plan_in_child(app: Path, catalog: str) -> dict[str, Any]:
    """``{"status": ..., "loaded": [...]}`` of planning ``app`` on the bundled ``catalog``."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(app), catalog],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result
