"""The serving plane: what ``skaal run`` serves, and how.

:func:`build_asgi` turns an :class:`~skaal.App` and a runtime factory into a
Starlette application: one JSON endpoint per ``@app.function``
(:mod:`~skaal.serve.routes`), an OpenAPI document and a docs page
(:mod:`~skaal.serve.openapi`, :mod:`~skaal.serve.docs_page`), the app's
mounted ASGI and WSGI apps (WSGI through :mod:`~skaal.serve.wsgi`), JSON
errors (:mod:`~skaal.serve.errors`, :mod:`~skaal.serve.problems`), the
request checks of a local server (``Host``/``Origin``:
:mod:`~skaal.serve.hosts`; JSON bodies within a size limit:
:mod:`~skaal.serve.body`), and a lifespan
that runs the scheduler (:mod:`~skaal.serve.scheduler`) and the consumer
workers (:mod:`~skaal.serve.workers`).  ``skaal run`` adds the local
dashboard at ``/_skaal/`` (:mod:`~skaal.serve.dashboard`), and every call is
a span when the runtime traces (:mod:`~skaal.serve.tracing`).  :mod:`~skaal.serve.server` runs it
under uvicorn; :mod:`~skaal.serve.bridge` is the only module that talks to
:mod:`skaal.runtime`.
"""

from skaal.serve.app import build_asgi

__all__ = ["build_asgi"]
