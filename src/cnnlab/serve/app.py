"""The web lab's FastAPI app: a JSON API over cnnlab's runs, explain, ops and training, and the page itself.

`create_app(runs_dir, runs=[...])` builds the app; `cnnlab serve` runs it with uvicorn.  create_app only wires
things: the run catalog (.catalog), the lab (.lab: predict, explain), the job manager (.jobs) and the settings
go on `app.state`, where the routers of .routes (page, runs, predict, playground, jobs) take them from; the
body cap is .limits, the error answers .errors.
"""
from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI

from cnnlab import __version__
from cnnlab.serve.catalog import Registry
from cnnlab.serve.errors import add_error_handlers
from cnnlab.serve.images import MAX_UPLOAD_BYTES
from cnnlab.serve.jobs import JobManager
from cnnlab.serve.lab import Lab
from cnnlab.serve.limits import BODY_SLACK, BodyLimit
from cnnlab.serve.routes import jobs, page, playground, predict, runs as run_routes
from cnnlab.serve.routes.deps import ServerSettings


def warm_in_background(registry: Registry) -> threading.Thread:
    """Load the models (and import the explain code) in a daemon thread, so the first request is quick."""
    def warm_up():
        from cnnlab.serve import explain_json, inputs, playground  # noqa: F401  (imports torch-side code once)
        registry.warm()

    thread = threading.Thread(target=warm_up, name="cnnlab-warm", daemon=True)
    thread.start()
    return thread


def create_app(runs_dir: str | Path = "runs", runs: list[str | Path] = (), allow_train: bool = False,
               data_dir: str | None = None, max_upload: int = MAX_UPLOAD_BYTES, train_fn=None,
               warm: bool = False, threads: int = 1) -> FastAPI:
    """The web lab over the runs under `runs_dir` plus `runs`; training from the page only with allow_train.
    With warm, models are loaded (and the explain code imported) in the background right away.  `threads`:
    torch CPU threads per request (one image gains little from more, and a busy CPU makes more much slower)."""
    registry = Registry(runs_dir, runs)
    if warm:
        warm_in_background(registry)
    app = FastAPI(title="cnnlab web lab", version=__version__,
                  description="Draw, upload, look inside and train cnnlab runs. All data stays on this machine.")
    app.state.settings = ServerSettings(runs_dir, allow_train, max_upload)
    app.state.registry, app.state.lab = registry, Lab(registry, threads)
    app.state.jobs = JobManager(runs_dir, data_dir, registry.data_sources, train_fn)
    app.add_middleware(BodyLimit, limit=max_upload + BODY_SLACK, shown=max_upload)
    add_error_handlers(app)
    page.mount_static(app)
    for routes in (page, run_routes, predict, playground, jobs):
        app.include_router(routes.router)
    return app
