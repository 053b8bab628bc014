"""Local stack of 'counter', plan a2fd6e1ac460 (skaal build).

Do not edit: change the declarations, then run skaal plan and skaal build.
The program is skaal.programs.local; it records what stack.json beside this
file says, with the wiring of the shipped lock.  Stack config (optional):
dataDir, host and port of the served app.
"""

from pathlib import Path

try:
    from skaal.programs.local import run
except ImportError as missing:
    raise SystemExit(
        f"this Pulumi program needs skaal's local program in the Python that "
        f"Pulumi runs it with, and that Python lacks it ({missing}). Pulumi "
        "installs it into infra/venv from infra/requirements.txt (skaal from "
        "../wheels): delete infra/venv and run skaal deploy again, or run "
        "pulumi install in infra/"
    ) from None

run(Path(__file__).resolve().with_name("stack.json"))
