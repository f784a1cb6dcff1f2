"""The runs the server shows, and what the server allows (training, upload size, data sets, models)."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from cnnlab import __version__
from cnnlab.serve.jobs import JobManager
from cnnlab.serve.routes.deps import Jobs, Runs, Settings

router = APIRouter()


def with_jobs(summary: dict, jobs: JobManager) -> dict:
    """A run's summary with status 'training' (or the job's state) while a job of this server writes it."""
    for job in jobs.jobs.values():
        if job.run_dir and Path(job.run_dir).name == summary["name"] and summary["status"] != "finished":
            summary["status"] = "training" if job.state == "running" else job.state
    return summary


@router.get("/api/config", summary="What this server allows: training, upload size, data sets, models")
def config(settings: Settings, registry: Runs, jobs: Jobs):
    from cnnlab.models import MODELS

    running = jobs.running()
    return {"version": __version__, "allow_train": settings.allow_train, "max_upload_bytes": settings.max_upload,
            "runs_dir": str(settings.runs_dir), "datasets": jobs.local_datasets(),
            "run_data": sorted(registry.data_sources()),
            "models": list(MODELS), "running_job": (running.id if running else None)}


@router.get("/api/runs", summary="Every run with its data, model, kind and headline metrics")
def list_runs(registry: Runs, jobs: Jobs):
    registry.scan()
    return {"runs": [with_jobs(registry.summary(e), jobs) for e in registry.entries.values()]}


@router.get("/api/runs/{name:path}", summary="One run: configuration, curves (history), metrics, confusion matrix")
def run_details(name: str, registry: Runs, jobs: Jobs):
    return with_jobs(registry.details(name), jobs)
