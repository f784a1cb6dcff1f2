"""Shared by the web lab's tests: tiny trained runs (made once per session), digits drawn the way a person draws
them on the page's canvas, and face images from FER2013."""
from __future__ import annotations

import gzip
import io
import math
import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from cnnlab.training.config import TrainConfig

TINY = dict(model="mnist-2conv", batch_size=64, eval_batch_size=512, precision="fp32")


def runs_base(tmp_path_factory) -> Path:
    """Where the tiny runs go: $CNNLAB_TEST_RUNS (kept between sessions) or this session's temporary folder."""
    kept = os.environ.get("CNNLAB_TEST_RUNS")
    return Path(kept) if kept else tmp_path_factory.getbasetemp() / "serve-runs"


def tiny_run(base: Path, name: str, **config) -> Path:
    """A run trained once into base/name (reused when it already finished), for tests that need a real model."""
    from cnnlab.training.pipeline import train

    run_dir = base / name
    if not (run_dir / "metrics.json").is_file():
        train(TrainConfig(runs_dir=str(base), run_name=name, **{**TINY, **config}))
    return run_dir


def fer_rows(path: Path, n: int) -> list[tuple[int, np.ndarray]]:
    """The first n (emotion, 48×48 uint8 face) rows of fer2013.csv(.gz), read without parsing the rest."""
    opener = gzip.open if path.suffix == ".gz" else open
    rows = []
    with opener(path, "rt") as fh:
        fh.readline()
        for line in fh:
            label, pixels = line.split(",")[:2]
            rows.append((int(label), np.array(pixels.split(), dtype=np.uint8).reshape(48, 48)))
            if len(rows) == n:
                break
    return rows


def fer_csv(path: Path, out: Path, n: int) -> Path:
    """The first n rows of FER2013 as a small emotion,pixels,Usage CSV."""
    lines = ["emotion,pixels,Usage"]
    for label, face in fer_rows(path, n):
        lines.append(f"{label},{' '.join(map(str, face.ravel().tolist()))},Training")
    out.write_text("\n".join(lines) + "\n")
    return out


def face_png(face: np.ndarray, size: int = 192, border: int = 96) -> bytes:
    """A 48×48 FER face upscaled to size×size, on a border of its own edge pixels, as PNG bytes."""
    big = np.asarray(Image.fromarray(face).resize((size, size), Image.Resampling.BICUBIC))
    return png_bytes(np.pad(big, border, mode="edge"))


def png_bytes(pixels) -> bytes:
    img = pixels if isinstance(pixels, Image.Image) else Image.fromarray(np.asarray(pixels, dtype=np.uint8))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


# ── digits drawn as on the page: dark round-capped strokes on a white 280×280 canvas ──────────────────────────
def _arc(cx, cy, rx, ry, t0, t1, n=40):
    """Points of an elliptic arc, angles in degrees, y pointing down (270 = top)."""
    return [(cx + rx * math.cos(math.radians(t0 + (t1 - t0) * i / n)),
             cy + ry * math.sin(math.radians(t0 + (t1 - t0) * i / n))) for i in range(n + 1)]


def _bezier(p0, p1, p2, n=30):
    return [((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t * t * p2[0],
             (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t * t * p2[1]) for t in (i / n for i in range(n + 1))]


# each digit as pen strokes in a unit box, shaped like ordinary handwriting
STROKES = {
    0: [_arc(0.5, 0.5, 0.28, 0.45, -90, 270)],
    1: [[(0.56, 0.05), (0.46, 0.95)]],
    2: [_arc(0.5, 0.3, 0.27, 0.25, 180, 395) + [(0.18, 0.95), (0.85, 0.93)]],
    3: [_arc(0.47, 0.28, 0.24, 0.2, 200, 450) + _arc(0.47, 0.71, 0.28, 0.24, 270, 505)],
    4: [[(0.32, 0.05), (0.18, 0.62), (0.85, 0.62)], [(0.66, 0.15), (0.64, 0.95)]],
    5: [[(0.8, 0.06), (0.32, 0.06), (0.27, 0.47)] + _arc(0.5, 0.69, 0.28, 0.26, 215, 500)],
    6: [_bezier((0.62, 0.03), (0.3, 0.3), (0.3, 0.72)) + _arc(0.5, 0.74, 0.2, 0.21, 180, 540)],
    7: [[(0.14, 0.08), (0.86, 0.08), (0.42, 0.95)]],
    8: [_arc(0.5, 0.27, 0.21, 0.21, 90, 450), _arc(0.5, 0.7, 0.26, 0.25, -90, 270)],
    9: [_arc(0.5, 0.3, 0.25, 0.24, 0, 360), [(0.75, 0.3), (0.68, 0.95)]],
}


def canvas_points(digit: int, size: int = 280, height: float = 200, slant: float = 0.0,
                  offset: tuple[float, float] = (0, 0)) -> list[list[tuple[float, float]]]:
    """The digit's strokes in canvas pixels: `height` tall, centred (plus offset), slanted right by `slant`."""
    ox, oy = (size - height) / 2 + offset[0], (size - height) / 2 + offset[1]
    return [[(ox + (x + slant * (0.5 - y)) * height, oy + y * height) for x, y in line] for line in STROKES[digit]]


def draw_digit(digit: int, size: int = 280, pen: float = 18, supersample: int = 4, **placement) -> Image.Image:
    """The digit drawn with a round pen `pen` pixels wide, anti-aliased as a browser canvas draws it."""
    ss = supersample
    big = Image.new("L", (size * ss, size * ss), 255)
    draw = ImageDraw.Draw(big)
    r = pen * ss / 2
    for line in canvas_points(digit, size, **placement):
        pts = [(x * ss, y * ss) for x, y in line]
        draw.line(pts, fill=17, width=int(round(pen * ss)), joint="curve")
        for x, y in (pts[0], pts[-1]):  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=17)
    return big.resize((size, size), Image.Resampling.BOX)


def realistic_mnist_run() -> Path | None:
    """A run trained on full MNIST for the drawn-digit accuracy check: $CNNLAB_MNIST_RUN, else the newest
    finished MNIST run under ./runs or /tmp/serve-runs; None when there is none."""
    if os.environ.get("CNNLAB_MNIST_RUN"):
        path = Path(os.environ["CNNLAB_MNIST_RUN"])
        return path if path.exists() else None
    import json

    found = []
    for root in (Path("runs"), Path("/tmp/serve-runs")):
        for run in root.glob("*") if root.is_dir() else []:
            try:
                config = json.loads((run / "config.json").read_text())
            except (OSError, ValueError):
                continue
            if config.get("data") == "mnist" and (run / "metrics.json").is_file() and (run / "best.pt").is_file():
                found.append(run)
    return max(found, key=lambda p: p.stat().st_mtime) if found else None
