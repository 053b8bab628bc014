"""Local stack of 'counter', plan a2fd6e1ac460 (skaal build).

Do not edit: change the declarations, then run skaal plan and skaal build.
The program is skaal.programs.local; it records what stack.json beside this
file says, with the wiring of the shipped lock.  Stack config (optional):
dataDir, host and port of the served app.
"""

from pathlib import Path

from skaal.programs.local import run

run(Path(__file__).resolve().with_name("stack.json"))
