"""Background work: a queue with a consumer, an hourly schedule and a secret.

    WEBHOOK_TOKEN=dev skaal run examples/jobs/app.py
    curl -X POST localhost:8000/fn/submit -H 'content-type: application/json' \
         -d '{"job": {"id": "j1", "payload": "resize cat.png"}}'
"""

from __future__ import annotations

import logging

from pydantic import BaseModel

from skaal import App, Cron, Map, Queue

app = App("jobs")
log = logging.getLogger("jobs")

TOKEN = app.secret("WEBHOOK_TOKEN", description="token sent with job notifications")


class Job(BaseModel):
    id: str
    payload: str


@app.queue(durability="persistent", max_attempts=3)
class Work(Queue[Job]):
    """Jobs waiting to run; a job failing three times goes to the dead letters."""


@app.storage(durability="persistent")
class Results(Map[str, str]):
    """What each job produced, by job id."""


@app.storage(durability="persistent")
class Stats(Map[str, int]):
    """Counters kept by the hourly report."""


@app.function()
async def submit(job: Job) -> str:
    """Queue a job; returns its message id."""
    return await Work.send(job)


@app.function()
async def result(job_id: str) -> str | None:
    """The result of a job, or null while it has not run."""
    return await Results.get(job_id)


@app.consumer(Work)
async def run_job(job: Job) -> None:
    if job.payload == "fail":
        raise RuntimeError(f"job {job.id} asked to fail")
    token = TOKEN.value() or ""
    await Results.set(job.id, f"done: {job.payload} (notified with a {len(token)}-char token)")


@app.schedule(Cron("0 * * * *"))
async def hourly_report() -> None:
    runs = await Stats.increment("hourly_reports")
    log.info("hourly report #%d", runs)
