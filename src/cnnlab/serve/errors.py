"""The web lab's error answers: every error is JSON `{"detail": "..."}` with a 4xx (or 500) status, one line a
user can act on; the server keeps serving."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cnnlab.data.base import DataError
from cnnlab.runs.checkpoint import CheckpointError
from cnnlab.serve.catalog import UnknownRun
from cnnlab.serve.images import UploadError
from cnnlab.serve.jobs import JobError
from cnnlab.serve.limits import TOO_LARGE


def error(status: int, message: str) -> JSONResponse:
    """The JSON error answer."""
    return JSONResponse({"detail": message}, status_code=status)


async def _with_status(_r, exc: UploadError | JobError):
    return error(exc.status, str(exc))


async def _unknown_run(_r, exc: UnknownRun):
    return error(404, str(exc))


async def _checkpoint(_r, exc: CheckpointError):
    return error(500, f"the run's checkpoint cannot be used: {exc}")


async def _bad_input(_r, exc: DataError | ValueError):
    return error(400, str(exc))


async def _http(request: Request, exc: StarletteHTTPException):
    if TOO_LARGE in request.scope:  # the body cap was hit while the form was being parsed
        return error(413, request.scope[TOO_LARGE])
    if exc.status_code == 404 and exc.detail == "Not Found":
        return error(404, f"no such page or API path: {request.url.path} (the API is listed at /docs)")
    return error(exc.status_code, str(exc.detail))


async def _validation(_r, exc: RequestValidationError):
    parts = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body')}: {e['msg']}" for e in exc.errors()]
    return error(422, "; ".join(parts) or "invalid request")


def add_error_handlers(app: FastAPI) -> None:
    """Answer each kind of error as above (handlers are found by the exception's class, most specific first)."""
    for kind, handler in [(UploadError, _with_status), (JobError, _with_status), (UnknownRun, _unknown_run),
                          (CheckpointError, _checkpoint), (DataError, _bad_input), (ValueError, _bad_input),
                          (StarletteHTTPException, _http), (RequestValidationError, _validation)]:
        app.add_exception_handler(kind, handler)
