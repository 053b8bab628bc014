"""The ``skaal`` command line."""
