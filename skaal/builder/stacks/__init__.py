"""Typed stack models: what a cloud builder writes and its fixed Pulumi program reads.

Every target's builder turns the plan into one frozen, validated model
(:mod:`skaal.builder.stacks.aws`, :mod:`skaal.builder.stacks.gcp`,
:mod:`skaal.builder.stacks.local`) and writes
it as ``infra/stack.json``; the program of that target
(:mod:`skaal.programs`) reads it back through the same model and creates
exactly what it says.  The model is the only contract between the two: no
code is generated, and no program reads a string key.
"""
