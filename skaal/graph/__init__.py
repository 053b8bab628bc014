"""The plan as a graph: functions, state, shared instances and their edges, with costs.

:mod:`skaal.graph.model` builds it from a Blueprint and its Plan (the
dashboard's Plan view and ``skaal plan --json`` read it);
:mod:`skaal.graph.svg` draws it as a standalone SVG or HTML page
(``skaal plan --graph``).  It sits above the solver, whose cost rules mark
what rests on defaults.
"""
