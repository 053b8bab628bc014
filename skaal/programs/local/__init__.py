"""The Pulumi program of the local target: fixed, typed code that reads ``stack.json``.

A built local artifact's ``infra/__main__.py`` calls :func:`run` on the
``stack.json`` beside it, a :class:`skaal.builder.stacks.local.LocalStack`
computed by :func:`skaal.builder.targets.local.local_stack`.  The local
target runs on this machine, so the program creates no cloud resource: it
reads the shipped lock (refusing one the artifact was not built for),
records the deployment as one ``skaal:local:App`` component whose
properties are the wiring the app reads -- computed from that lock by
:mod:`skaal.plan.wiring`, the module the runtime uses -- and exports it with
the URL, the data directory and, per planned Redis/PostgreSQL server, the
variable its URL is read from and the size the plan records for it (what
the operator runs).  It runs only under Pulumi, at deploy time: planning
and building never import it.
"""

from __future__ import annotations

from skaal.programs.local.program import LocalApp, run

__all__ = ["LocalApp", "run"]
