"""Predict and explain an uploaded image or a drawn canvas with one run (the model calls run off the event loop)."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, File, Form, UploadFile

from cnnlab.serve.routes.deps import LabCalls, Settings, read_image

router = APIRouter()


@router.post("/api/predict", summary="Classify an uploaded image or a drawn canvas (PNG)")
async def predict(lab: LabCalls, settings: Settings, file: UploadFile = File(..., description="the image"),
                  run: str = Form(...), mode: str = Form("auto", description="auto | digit | faces | resize"),
                  top_k: int = Form(5)):
    img = await read_image(file, settings.max_upload)
    return await asyncio.to_thread(lab.predict, run, img, mode, top_k)


@router.post("/api/explain", summary="Feature maps of every conv layer, first-layer kernels and Grad-CAM")
async def explain(lab: LabCalls, settings: Settings, file: UploadFile = File(...), run: str = Form(...),
                  mode: str = Form("auto"),
                  face: int = Form(0, description="which face (0: the largest) when faces were found"),
                  class_name: str | None = Form(None, alias="class", description="Grad-CAM class (default: "
                                                                                  "the predicted one)")):
    img = await read_image(file, settings.max_upload)
    return await asyncio.to_thread(lab.explain, run, img, mode, face, class_name or None)


@router.post("/api/explain/dot", summary="The dot product behind one feature-map pixel (window · kernel + bias)")
async def explain_dot(lab: LabCalls, settings: Settings, file: UploadFile = File(...), run: str = Form(...),
                      mode: str = Form("auto"), face: int = Form(0), layer: int = Form(...),
                      channel: int = Form(...), row: int = Form(...), col: int = Form(...)):
    img = await read_image(file, settings.max_upload)
    return await asyncio.to_thread(lab.dot, run, img, mode, face, layer, channel, row, col)
