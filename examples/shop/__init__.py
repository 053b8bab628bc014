"""A shop split into three Skaal modules: ``catalog``, ``cart`` and ``billing``."""
