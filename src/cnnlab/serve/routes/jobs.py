"""Training jobs started from the page (only with --allow-train, one at a time), their state and live events."""
from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from cnnlab.serve.jobs import FIELDS, Job, JobError
from cnnlab.serve.routes.deps import Jobs, Settings, require_training

SSE_POLL = 0.25  # seconds between looks at a job's new events while streaming them

router = APIRouter()


@router.post("/api/jobs", summary="Start a training job (needs --allow-train; one at a time)",
             description="A JSON object with any of: " + ", ".join(FIELDS) + ", e.g. "
                         '{"data": "mnist-mini", "model": "cnn", "epochs": 2, "limit": 1000}. The run is written '
                         "to the runs directory like a `cnnlab train` run.",
             dependencies=[Depends(require_training)])
async def start_job(request: Request, jobs: Jobs):
    try:
        body = await request.json()
    except ValueError:
        raise JobError("the request body must be JSON, e.g. {\"data\": \"mnist-mini\", \"epochs\": 1}") from None
    return jobs.start(body).to_dict(0)


@router.get("/api/jobs", summary="The training jobs of this server session")
def list_jobs(jobs: Jobs, settings: Settings):
    return {"jobs": [j.to_dict() for j in jobs.jobs.values()], "allow_train": settings.allow_train}


@router.get("/api/jobs/{job_id}", summary="A job's state and its events after `since` (polling)")
def job_state(job_id: str, jobs: Jobs, since: int = Query(0, ge=0)):
    return jobs.get(job_id).to_dict(since)


async def event_stream(job: Job, request: Request, since: int):
    """Server-sent events: each of the job's events from `since` on as 'progress', then 'done' with its state."""
    seen = since
    while True:
        events = job.events_since(seen)
        for e in events:
            yield f"id: {e['seq']}\nevent: progress\ndata: {json.dumps(e)}\n\n"
        seen = events[-1]["seq"] + 1 if events else seen
        if job.state not in ("queued", "running") and not job.events_since(seen):
            yield f"event: done\ndata: {json.dumps(job.to_dict())}\n\n"
            return
        if await request.is_disconnected():
            return
        await asyncio.sleep(SSE_POLL)


@router.get("/api/jobs/{job_id}/events", summary="A job's events as server-sent events (text/event-stream)")
async def job_events(job_id: str, request: Request, jobs: Jobs, since: int = Query(0, ge=0)):
    job = jobs.get(job_id)
    return StreamingResponse(event_stream(job, request, since), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.post("/api/jobs/{job_id}/cancel", summary="Stop a running job at its next progress report",
             dependencies=[Depends(require_training)])
def cancel_job(job_id: str, jobs: Jobs):
    return jobs.cancel(job_id).to_dict()
