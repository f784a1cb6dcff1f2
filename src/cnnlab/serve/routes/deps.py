"""What the routes are given (FastAPI dependencies): the server's settings, run catalog, lab and job manager,
all kept on `app.state` by create_app, and the upload reader that honours the upload cap."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request, UploadFile
from PIL import Image

from cnnlab.serve.catalog import Registry
from cnnlab.serve.images import read_upload
from cnnlab.serve.jobs import JobError, JobManager
from cnnlab.serve.lab import Lab


@dataclass(frozen=True)
class ServerSettings:
    """What the server was started with: the runs folder, whether the page may train, the upload cap (bytes)."""

    runs_dir: str | Path
    allow_train: bool
    max_upload: int


async def get_settings(request: Request) -> ServerSettings:
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_lab(request: Request) -> Lab:
    return request.app.state.lab


async def get_jobs(request: Request) -> JobManager:
    return request.app.state.jobs


Settings = Annotated[ServerSettings, Depends(get_settings)]
Runs = Annotated[Registry, Depends(get_registry)]
LabCalls = Annotated[Lab, Depends(get_lab)]
Jobs = Annotated[JobManager, Depends(get_jobs)]


async def require_training(settings: Settings) -> None:
    """403 unless the server was started with --allow-train."""
    if not settings.allow_train:
        raise JobError("training from the page is off; restart with `cnnlab serve --allow-train`", 403)


async def read_image(file: UploadFile, max_upload: int) -> Image.Image:
    """The uploaded image; UploadError (413) past max_upload bytes, (400) when it is not a readable image."""
    data = await file.read(max_upload + 1)
    return read_upload(data, file.filename or "upload", max_upload)
