"""The model types every stage shares, below the blueprint.

:mod:`skaal.model.grammar` holds the constraint values a declaration writes
(``Bound``, ``Durability``, ``Consistency``...) and their parsers;
:mod:`skaal.model.providers` the names of the providers.  Nothing here imports
another Skaal package except :mod:`skaal.errors`, so the blueprint, the
catalog, the registry, the solver and the runtime can all read them.
"""
