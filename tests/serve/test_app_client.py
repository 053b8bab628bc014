"""``skaal.testing.AppClient`` against the real runtime on in-memory backends."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import BaseModel

from skaal import App, Map, Queue
from skaal.testing import AppClient


class Email(BaseModel):
    to: str
    subject: str


def make_app() -> tuple[App, type[Map[str, int]], type[Queue[Email]]]:
    app = App("mailer")

    @app.storage(durability="ephemeral")
    class Sent(Map[str, int]): ...

    @app.queue(durability="ephemeral", max_attempts=2)
    class Outbox(Queue[Email]): ...

    @app.function()
    async def bump(name: str) -> int:
        return await Sent.increment(name)

    @app.function()
    async def send(email: Email) -> str:
        return await Outbox.send(email)

    @app.consumer(Outbox)
    async def deliver(email: Email) -> None:
        if email.to == "nobody":
            raise ValueError("no such mailbox")
        await Sent.increment(email.to)

    return app, Sent, Outbox


@pytest.mark.asyncio
async def test_clients_are_isolated_and_reach_the_runtime() -> None:
    app, Sent, _ = make_app()
    async with AppClient(app) as first, AppClient(app) as second:
        assert (await first.post("/fn/bump", json={"name": "a"})).json() == 1
        assert (await first.post("/fn/bump", json={"name": "a"})).json() == 2
        assert (await second.post("/fn/bump", json={"name": "a"})).json() == 1
        assert await first.runtime.client(Sent).get("a") == 2
        assert await first.call("bump", name="b") == 1


@pytest.mark.asyncio
async def test_consumer_runs_and_dead_letters() -> None:
    app, Sent, Outbox = make_app()
    async with AppClient(app) as client:
        assert len(client.state.workers) == 1
        await client.call("send", email={"to": "ada", "subject": "hi"})
        await client.call("send", email={"to": "nobody", "subject": "hi"})
        queue = client.runtime.client(Outbox)
        sent = client.runtime.client(Sent)
        for _ in range(2000):
            if await sent.get("ada") == 1 and await queue.depth() == 0:
                break
            await asyncio.sleep(0.01)
        assert await sent.get("ada") == 1
        dead = await queue.dead_letters()
        assert [d.body.to for d in dead] == ["nobody"]
        assert "no such mailbox" in dead[0].error
