"""Web-lab latency: predict and explain requests through the real FastAPI app (in process, no network).

Each request posts a PNG the way the page does and waits for the JSON answer; the model is loaded once and
kept warm, as `cnnlab serve` does.  Times are min / median / p90 in milliseconds over `--repeats` requests.

    .venv/bin/python bench/serve_latency.py RUN [RUN ...] [--repeats 50]

RUN is a run directory; an image from its own test split (else val) is the input.
"""
import argparse
import io
import statistics
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from cnnlab.runs.rundir import load_run
from cnnlab.serve.app import create_app
from cnnlab.data.rundata import prepare_data


def sample_png(run_dir: Path) -> bytes:
    """The first image of the run's test split (else val), as PNG bytes."""
    run = load_run(run_dir)
    data = prepare_data(run.config)
    split = data["test"] if "test" in data else data["val"]
    pixels = split.images[0].numpy()
    img = Image.fromarray(pixels[0] if pixels.shape[0] == 1 else np.moveaxis(pixels, 0, -1))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def timed(client: TestClient, path: str, run: str, png: bytes, repeats: int) -> list[float]:
    def call():
        r = client.post(path, files={"file": ("image.png", png, "image/png")}, data={"run": run, "mode": "resize"})
        if r.status_code != 200:
            raise SystemExit(f"{path} on {run}: {r.status_code} {r.text[:300]}")
    for _ in range(3):  # warm: model loaded, code paths compiled
        call()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    print("| run | request | min ms | median ms | p90 ms |\n|---|---|---|---|---|")
    for run_dir in args.runs:
        run_dir = run_dir.resolve()
        png = sample_png(run_dir)
        with TestClient(create_app(run_dir.parent)) as client:
            for path in ("/api/predict", "/api/explain"):
                t = sorted(timed(client, path, run_dir.name, png, args.repeats))
                print(f"| {run_dir.name} | {path} | {t[0]:.1f} | {statistics.median(t):.1f} | "
                      f"{t[int(0.9 * (len(t) - 1))]:.1f} |")


if __name__ == "__main__":
    main()
