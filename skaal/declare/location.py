"""Where the user wrote a declaration: the first stack frame outside Skaal.

Errors raised while a declaration is recorded name the user's ``file:line``.
Decorators know their depth exactly; value objects such as ``Cron`` or
``Secret`` can be built by the user directly or by a helper such as
``app.secret(...)``, so they walk up the stack past this package's own frames
(and the ``__init__`` that ``dataclasses`` generates) instead.
"""

from __future__ import annotations

import os
import sys

from skaal.blueprint.model import SourceLocation

__all__ = ["user_location"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_location() -> SourceLocation:
    """The location of the innermost caller that is not part of ``skaal.declare``."""
    frame = sys._getframe(1)
    while frame.f_back is not None:
        code = frame.f_code
        generated = code.co_filename == "<string>" and code.co_name == "__init__"
        inside = os.path.dirname(os.path.abspath(code.co_filename)) == _PACKAGE_DIR
        if not (generated or inside):
            break
        frame = frame.f_back
    return SourceLocation(file=frame.f_code.co_filename, line=frame.f_lineno)
