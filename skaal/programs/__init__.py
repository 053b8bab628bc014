"""The fixed Pulumi programs of the targets (aws, gcp, local).

A built artifact's ``infra/__main__.py`` hands its ``stack.json`` to one of
them (:mod:`skaal.builder.stacks` holds the models they read).  They run
under Pulumi, at deploy time, in the stack's own virtual environment;
nothing here is imported while planning or building.
"""
