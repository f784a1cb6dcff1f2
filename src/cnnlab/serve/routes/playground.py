"""The convolution playground: the filter gallery, a kernel applied to an image, the course's worked examples."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, File, Form, UploadFile

from cnnlab.serve.routes.deps import Settings, read_image

router = APIRouter()


@router.get("/api/filters", summary="The filter gallery's kernels")
def filters():
    from cnnlab.serve.playground import kernels_json

    return {"kernels": kernels_json()}


def _kernel(kernel: str | None, weights: str | None, display: str):
    """The (k, k) weights and display mode asked for: typed weights first, else a gallery kernel by name."""
    from cnnlab.explain.ops.filters import KERNELS
    from cnnlab.serve.playground import parse_kernel

    if weights:
        return parse_kernel(weights), display
    if kernel in KERNELS:
        return KERNELS[kernel].weights, (KERNELS[kernel].display if display == "auto" else display)
    raise ValueError(f"kernel {kernel!r}: give a gallery name ({', '.join(KERNELS)}) or typed weights")


@router.post("/api/filter", summary="Apply a gallery kernel (by name) or a typed 3×3/5×5 kernel to an image")
async def apply_filter(settings: Settings,
                       file: UploadFile | None = File(None, description="default: the built-in sample"),
                       kernel: str | None = Form(None, description="a gallery kernel name"),
                       weights: str | None = Form(None, description="rows of numbers: '0 -1 0; -1 5 -1; ...'"),
                       display: str = Form("auto", description="auto | clip | abs | signed")):
    from PIL import Image

    from cnnlab.serve.playground import SAMPLE_IMAGE, apply_kernel

    if file is not None and file.filename:
        img = await read_image(file, settings.max_upload)
    else:
        img = Image.open(SAMPLE_IMAGE)
        img.load()
    matrix, display = _kernel(kernel, weights, display)
    return await asyncio.to_thread(apply_kernel, img, matrix, display)


@router.get("/api/examples", summary="The course's worked convolution examples, each cell's sum spelled out")
def examples():
    from cnnlab.serve.playground import examples_json

    return {"examples": examples_json()}
