"""Login sessions in a sub-millisecond cache that may forget them.

    skaal run examples/session_cache/app.py
    curl -X POST localhost:8000/fn/start_session -H 'content-type: application/json' \
         -d '{"user": "ada"}'
"""

from __future__ import annotations

import secrets
from typing import Annotated

from pydantic import BaseModel, Field

from skaal import App, Map

app = App("session-cache")


class Session(BaseModel):
    user: str
    roles: list[str] = []


@app.storage(read_latency="< 1ms", durability="ephemeral", ttl="30m", size="200MB", reads="500/s")
class Sessions(Map[str, Session]):
    """Sessions by token: read on every request, gone after 30 minutes or a restart."""


@app.function()
async def start_session(
    user: str,
    roles: list[str] | None = None,
    ttl: Annotated[float, Field(gt=0)] | None = None,
) -> str:
    """Open a session for ``user``; returns its token.  ``ttl`` overrides the 30 minutes."""
    token = secrets.token_urlsafe(16)
    await Sessions.set(token, Session(user=user, roles=roles or []), ttl=ttl)
    return token


@app.function()
async def read_session(token: str) -> Session | None:
    """The session of ``token``, or null once it expired or was ended."""
    return await Sessions.get(token)


@app.function()
async def end_session(token: str) -> bool:
    """Expire ``token`` now (log out); false if it had already gone."""
    return await Sessions.delete(token)
