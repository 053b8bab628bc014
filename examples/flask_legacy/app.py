"""A Flask app gaining a Skaal Map: the legacy views stay, their data moves to Skaal.

skaal run examples/flask_legacy/app.py
curl localhost:8000/legacy/pages/pricing
curl -X POST localhost:8000/fn/page_visits -H 'content-type: application/json' \
     -d '{"page": "pricing"}'

The Flask app is mounted as it is (``app.mount`` detects WSGI).  Its views
are plain functions on the mount's worker threads; ``blocking(...)`` runs
each Skaal call on the server's event loop and waits for the answer.
"""

from __future__ import annotations

from flask import Flask, abort, request, url_for

from skaal import App, Map, blocking

app = App("flask-legacy")


@app.storage(durability="persistent")
class Visits(Map[str, int]):
    """How many times each page of the legacy site was seen; survives a restart."""


legacy = Flask(__name__)


@legacy.get("/")
def home() -> dict[str, object]:
    """The legacy home page: counts itself and links to a page under the mount."""
    return {"visits": blocking(Visits.increment("home")), "next": url_for("page", name="about")}


@legacy.get("/pages/<name>")
def page(name: str) -> dict[str, object]:
    """Count one more view of ``name``."""
    return {"page": name, "visits": blocking(Visits.increment(name))}


@legacy.put("/pages/<name>")
def set_page(name: str) -> dict[str, object]:
    """Import a count from the old database: ``{"visits": 41}``."""
    body = request.get_json(silent=True)
    visits = body.get("visits") if isinstance(body, dict) else None
    if not isinstance(visits, int) or isinstance(visits, bool) or visits < 0:
        abort(400, description='send {"visits": <a whole number, 0 or more>}')
    blocking(Visits.set(name, visits))
    return {"page": name, "visits": visits}


app.mount("/legacy", legacy)


@app.function()
async def page_visits(page: str) -> int:
    """How many times ``page`` was seen (new Skaal code reads what the Flask views write)."""
    return await Visits.get(page) or 0
