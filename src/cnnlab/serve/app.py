"""The web lab's FastAPI app: a JSON API over cnnlab's runs, explain, ops and training, and the page itself.

`create_app(runs_dir, runs=[...])` builds the app; `cnnlab serve` runs it with uvicorn.  The routes read the
request and call cnnlab.serve.lab (predict, explain), .playground, .registry (runs) and .jobs (training).
"""
from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cnnlab import __version__
from cnnlab.runs.checkpoint import CheckpointError
from cnnlab.data.base import DataError
from cnnlab.serve.images import MAX_UPLOAD_BYTES, UploadError, read_upload
from cnnlab.serve.jobs import FIELDS, JobError, JobManager
from cnnlab.serve.lab import Lab
from cnnlab.serve.limits import BODY_SLACK, TOO_LARGE, BodyLimit
from cnnlab.serve.catalog import Registry, UnknownRun

STATIC = Path(__file__).with_name("static")
SSE_POLL = 0.25  # seconds between looks at a job's new events while streaming them


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def create_app(runs_dir: str | Path = "runs", runs: list[str | Path] = (), allow_train: bool = False,
               data_dir: str | None = None, max_upload: int = MAX_UPLOAD_BYTES, train_fn=None,
               warm: bool = False, threads: int = 1) -> FastAPI:
    """The web lab over the runs under `runs_dir` plus `runs`; training from the page only with allow_train.
    With warm, models are loaded (and the explain code imported) in the background right away.  `threads`:
    torch CPU threads per request (one image gains little from more, and a busy CPU makes more much slower)."""
    registry = Registry(runs_dir, runs)
    if warm:
        def warm_up():
            from cnnlab.serve import explain_json, inputs, playground  # noqa: F401  (imports torch-side code once)
            registry.warm()

        threading.Thread(target=warm_up, name="cnnlab-warm", daemon=True).start()
    lab = Lab(registry, threads)
    jobs = JobManager(runs_dir, data_dir, registry.data_sources, train_fn)
    app = FastAPI(title="cnnlab web lab", version=__version__,
                  description="Draw, upload, look inside and train cnnlab runs. All data stays on this machine.")
    app.state.registry, app.state.jobs, app.state.lab = registry, jobs, lab
    app.add_middleware(BodyLimit, limit=max_upload + BODY_SLACK, shown=max_upload)

    # ── errors: a clear message and a 4xx; the server keeps serving ────────────────────────────────────────
    @app.exception_handler(UploadError)
    async def _upload(_r, exc: UploadError):
        return _error(exc.status, str(exc))

    @app.exception_handler(JobError)
    async def _job(_r, exc: JobError):
        return _error(exc.status, str(exc))

    @app.exception_handler(UnknownRun)
    async def _unknown(_r, exc: UnknownRun):
        return _error(404, str(exc))

    @app.exception_handler(CheckpointError)
    async def _checkpoint(_r, exc: CheckpointError):
        return _error(500, f"the run's checkpoint cannot be used: {exc}")

    @app.exception_handler(DataError)
    async def _data(_r, exc: DataError):
        return _error(400, str(exc))

    @app.exception_handler(ValueError)
    async def _value(_r, exc: ValueError):
        return _error(400, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if TOO_LARGE in request.scope:  # the body cap was hit while the form was being parsed
            return _error(413, request.scope[TOO_LARGE])
        if exc.status_code == 404 and exc.detail == "Not Found":
            return _error(404, f"no such page or API path: {request.url.path} (the API is listed at /docs)")
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(_r, exc: RequestValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()]
        return _error(422, "; ".join(parts) or "invalid request")

    # ── page ──────────────────────────────────────────────────────────────────────────────────────────────
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api", include_in_schema=False, response_class=HTMLResponse)
    def api_reference():
        from cnnlab.serve.apidoc import api_page

        return api_page(app.openapi())

    # ── runs ──────────────────────────────────────────────────────────────────────────────────────────────
    def with_jobs(summary: dict) -> dict:
        for job in jobs.jobs.values():
            if job.run_dir and Path(job.run_dir).name == summary["name"] and summary["status"] != "finished":
                summary["status"] = "training" if job.state == "running" else job.state
        return summary

    @app.get("/api/config", summary="What this server allows: training, upload size, data sets, models")
    def config():
        from cnnlab.models import MODELS

        return {"version": __version__, "allow_train": allow_train, "max_upload_bytes": max_upload,
                "runs_dir": str(runs_dir), "datasets": jobs.local_datasets(),
                "run_data": sorted(registry.data_sources()),
                "models": list(MODELS), "running_job": (jobs.running().id if jobs.running() else None)}

    @app.get("/api/runs", summary="Every run with its data, model, kind and headline metrics")
    def list_runs():
        registry.scan()
        return {"runs": [with_jobs(registry.summary(e)) for e in registry.entries.values()]}

    @app.get("/api/runs/{name:path}", summary="One run: configuration, curves (history), metrics, confusion matrix")
    def run_details(name: str):
        return with_jobs(registry.details(name))

    # ── predict and explain ───────────────────────────────────────────────────────────────────────────────
    async def read(file: UploadFile):
        data = await file.read(max_upload + 1)
        return read_upload(data, file.filename or "upload", max_upload)

    @app.post("/api/predict", summary="Classify an uploaded image or a drawn canvas (PNG)")
    async def predict(file: UploadFile = File(..., description="the image"), run: str = Form(...),
                      mode: str = Form("auto", description="auto | digit | faces | resize"),
                      top_k: int = Form(5)):
        img = await read(file)
        return await asyncio.to_thread(lab.predict, run, img, mode, top_k)

    @app.post("/api/explain", summary="Feature maps of every conv layer, first-layer kernels and Grad-CAM")
    async def explain(file: UploadFile = File(...), run: str = Form(...), mode: str = Form("auto"),
                      face: int = Form(0, description="which face (0: the largest) when faces were found"),
                      class_name: str | None = Form(None, alias="class", description="Grad-CAM class (default: "
                                                                                      "the predicted one)")):
        img = await read(file)
        return await asyncio.to_thread(lab.explain, run, img, mode, face, class_name or None)

    @app.post("/api/explain/dot", summary="The dot product behind one feature-map pixel (window · kernel + bias)")
    async def explain_dot(file: UploadFile = File(...), run: str = Form(...), mode: str = Form("auto"),
                          face: int = Form(0), layer: int = Form(...), channel: int = Form(...),
                          row: int = Form(...), col: int = Form(...)):
        img = await read(file)
        return await asyncio.to_thread(lab.dot, run, img, mode, face, layer, channel, row, col)

    # ── convolution playground ────────────────────────────────────────────────────────────────────────────
    @app.get("/api/filters", summary="The filter gallery's kernels")
    def filters():
        from cnnlab.serve.playground import kernels_json

        return {"kernels": kernels_json()}

    @app.post("/api/filter", summary="Apply a gallery kernel (by name) or a typed 3×3/5×5 kernel to an image")
    async def apply_filter(file: UploadFile | None = File(None, description="default: the built-in sample"),
                           kernel: str | None = Form(None, description="a gallery kernel name"),
                           weights: str | None = Form(None, description="rows of numbers: '0 -1 0; -1 5 -1; ...'"),
                           display: str = Form("auto", description="auto | clip | abs | signed")):
        from PIL import Image

        from cnnlab.explain.ops.filters import KERNELS
        from cnnlab.serve.playground import SAMPLE_IMAGE, apply_kernel, parse_kernel

        if file is not None and file.filename:
            img = await read(file)
        else:
            img = Image.open(SAMPLE_IMAGE)
            img.load()
        if weights:
            matrix = parse_kernel(weights)
        elif kernel in KERNELS:
            matrix = KERNELS[kernel].weights
            display = KERNELS[kernel].display if display == "auto" else display
        else:
            raise ValueError(f"kernel {kernel!r}: give a gallery name ({', '.join(KERNELS)}) or typed weights")
        return await asyncio.to_thread(apply_kernel, img, matrix, display)

    @app.get("/api/examples", summary="The course's worked convolution examples, each cell's sum spelled out")
    def examples():
        from cnnlab.serve.playground import examples_json

        return {"examples": examples_json()}

    # ── training jobs ─────────────────────────────────────────────────────────────────────────────────────
    def need_train():
        if not allow_train:
            raise JobError("training from the page is off; restart with `cnnlab serve --allow-train`", 403)

    @app.post("/api/jobs", summary="Start a training job (needs --allow-train; one at a time)",
              description="A JSON object with any of: " + ", ".join(FIELDS) + ", e.g. "
                          '{"data": "mnist-mini", "model": "cnn", "epochs": 2, "limit": 1000}. The run is written '
                          "to the runs directory like a `cnnlab train` run.")
    async def start_job(request: Request):
        need_train()
        try:
            body = await request.json()
        except ValueError:
            raise JobError("the request body must be JSON, e.g. {\"data\": \"mnist-mini\", \"epochs\": 1}") from None
        return jobs.start(body).to_dict(0)

    @app.get("/api/jobs", summary="The training jobs of this server session")
    def list_jobs():
        return {"jobs": [j.to_dict() for j in jobs.jobs.values()], "allow_train": allow_train}

    @app.get("/api/jobs/{job_id}", summary="A job's state and its events after `since` (polling)")
    def job_state(job_id: str, since: int = Query(0, ge=0)):
        return jobs.get(job_id).to_dict(since)

    @app.get("/api/jobs/{job_id}/events", summary="A job's events as server-sent events (text/event-stream)")
    async def job_events(job_id: str, request: Request, since: int = Query(0, ge=0)):
        job = jobs.get(job_id)

        async def stream():
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

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/api/jobs/{job_id}/cancel", summary="Stop a running job at its next progress report")
    def cancel_job(job_id: str):
        need_train()
        return jobs.cancel(job_id).to_dict()

    @app.get("/api/health", include_in_schema=False)
    def health():
        return {"ok": True}

    return app
