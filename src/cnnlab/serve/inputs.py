"""An uploaded or drawn image → the tensors a run's model reads: a centred MNIST digit, each face found, or the
whole image resized, as the run's kind asks."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from cnnlab.data.image_file import convert_image
from cnnlab.runs.rundir import LoadedRun
from cnnlab.serve.digits import ink_of, mnist_digit
from cnnlab.serve.faces import Face, NoFaceDetector, crop_face, find_faces
from cnnlab.serve.images import UploadError, as_channels, gray_and_alpha, to_chw
from cnnlab.serve.catalog import run_kind

MODES = ("auto", "digit", "faces", "resize")


@dataclass
class Prepared:
    """Model inputs made from one image: uint8 (N, C, H, W), and the face boxes they came from (if any)."""

    mode: str  # digit | faces | resize
    images: torch.Tensor
    faces: list[Face] = field(default_factory=list)  # one per image when mode is 'faces' and faces were found
    size: tuple[int, int] = (0, 0)  # the uploaded image's (width, height)
    note: str = ""  # why the image was used whole, when faces were asked for but could not be searched


def kind_of(run: LoadedRun) -> str:
    """The run's kind (digits, faces, images, other); see catalog.run_kind."""
    cfg = run.config
    name = f"{cfg.data} {run.path.name}"
    return run_kind(run.input_shape, run.classes, name, run.input_meta)


def resolve_mode(run: LoadedRun, mode: str) -> str:
    """'auto' → digit for MNIST-like runs, faces for emotion runs, resize otherwise; checks the others fit."""
    if mode not in MODES:
        raise UploadError(f"mode {mode!r}: expected one of {', '.join(MODES)}")
    kind = kind_of(run)
    if kind == "other":
        what = run.input_meta.get("kind", "not an image")
        raise UploadError(f"run {run.path.name} does not take images (its input is {what}); use `cnnlab predict` "
                          f"for it")
    if mode == "auto":
        return {"digits": "digit", "faces": "faces"}.get(kind, "resize")
    if mode == "digit" and run.input_shape[0] != 1:
        raise UploadError(f"mode digit needs a gray (1-channel) model; run {run.path.name} takes "
                          f"{run.input_shape[0]} channels")
    return mode


def prepare(run: LoadedRun, img: Image.Image, mode: str = "auto") -> Prepared:
    """The model inputs for one uploaded image."""
    mode = resolve_mode(run, mode)
    c, h, w = run.input_shape
    if mode == "digit":
        gray, alpha = gray_and_alpha(img)
        digit = mnist_digit(ink_of(gray, alpha))  # (28, 28); ValueError when blank
        if (h, w) != digit.shape:
            digit = convert_image(digit[None], 1, (h, w))[0]
        return Prepared(mode, torch.from_numpy(digit[None, None].copy()), [], img.size)
    pixels = as_channels(img, c)  # (H, W) or (H, W, 3)
    if mode == "faces":
        gray = pixels if c == 1 else as_channels(img, 1)
        try:
            faces = find_faces(gray)
        except NoFaceDetector as exc:  # still useful: classify the whole image, and say why
            image = convert_image(to_chw(pixels), c, (h, w))
            return Prepared(mode, torch.from_numpy(image[None].copy()), [], img.size, str(exc))
        if faces:
            crops = [convert_image(to_chw(crop_face(pixels, f)), c, (h, w)) for f in faces]
            return Prepared(mode, torch.from_numpy(np.stack(crops)), faces, img.size)
    image = convert_image(to_chw(pixels), c, (h, w))
    return Prepared(mode, torch.from_numpy(image[None].copy()), [], img.size)
