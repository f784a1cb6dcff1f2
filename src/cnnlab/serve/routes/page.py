"""The page itself, the offline API reference (/api) and a health check."""
from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent.parent / "static"

router = APIRouter()


def mount_static(app: FastAPI) -> None:
    """Serve the page's scripts, styles and images under /static (a mount: routers cannot carry one)."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


@router.get("/", include_in_schema=False)
def index():
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


@router.get("/api", include_in_schema=False, response_class=HTMLResponse)
def api_reference(request: Request):
    from cnnlab.serve.apidoc import api_page

    return api_page(request.app.openapi())


@router.get("/api/health", include_in_schema=False)
def health():
    return {"ok": True}
