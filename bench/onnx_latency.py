"""Inference speed of one trained run: PyTorch eager vs onnxruntime fp32 vs onnxruntime int8, same process.

Every engine gets uint8 images and does the whole job (normalisation + model → logits), with the same number
of CPU threads.  Single-image latency: one call with one image, timed `--repeats` times (min / median ms).
Batch throughput: one call with `--batch` images, timed `--repeats` times (images/s at the min / median time).
Accuracy is measured on the run's test split (else val), so the int8 cost shows next to its speed.

    .venv/bin/python bench/onnx_latency.py RUN [--repeats 50] [--batch 256] [--threads N] [--limit 2000]
"""
import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from cnnlab.training.device import set_threads
from cnnlab.deploy.onnx_export import (calibration_images, evaluation_split, export_onnx, onnx_accuracy,
                                       quantize_int8, torch_logits)
from cnnlab.deploy.onnx_predict import OnnxClassifier
from cnnlab.runs.rundir import load_run
from cnnlab.data.rundata import prepare_data


def timings(calls: dict, repeats: int, warmup: int = 5) -> dict[str, list[float]]:
    """Seconds per call of each named call, `repeats` times after `warmup` untimed calls, taken in turn
    (engine A, B, C, A, B, C ...) so that a busy spell of the machine falls on all engines alike."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    out = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            t0 = time.perf_counter()
            call()
            out[name].append(time.perf_counter() - t0)
    return out


def torch_engine(run):
    """uint8 (B, C, H, W) → logits with the run's PyTorch model, fp32 eager, as `cnnlab predict` runs it."""
    model = run.model.eval()

    @torch.inference_mode()
    def call(images: np.ndarray):
        x = run.preprocess(torch.from_numpy(images))
        if run.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return model(x)
    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="a run directory or checkpoint (.pt)")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per measurement [50]")
    parser.add_argument("--batch", type=int, default=256, help="images per call for throughput [256]")
    parser.add_argument("--threads", type=int, help="CPU threads for both engines [the cores available]")
    parser.add_argument("--limit", type=int, default=2000, help="test images for the accuracy column [2000]")
    parser.add_argument("--quant-method", choices=["static", "dynamic"], default="static")
    parser.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    args = parser.parse_args()

    threads = set_threads(args.threads)
    run = load_run(args.run)
    data = prepare_data(dataclasses.replace(run.config, data_dir=args.data_dir or run.config.data_dir))
    split_name, split = evaluation_split(data, args.limit)
    images = split.images.numpy()
    batch = np.ascontiguousarray(np.resize(images, (args.batch, *images.shape[1:])))  # repeats if the split is small
    with tempfile.TemporaryDirectory() as tmp:
        fp32, int8 = Path(tmp) / "model.onnx", Path(tmp) / "model.int8.onnx"
        export_onnx(run, fp32)
        quantize_int8(fp32, int8, calibration_images(data["train"]), args.quant_method)
        engines = {"PyTorch eager fp32": (torch_engine(run), None, None),
                   "onnxruntime fp32": (OnnxClassifier.load(fp32, threads).logits, fp32, fp32.stat().st_size),
                   f"onnxruntime int8 ({args.quant_method})": (OnnxClassifier.load(int8, threads).logits, int8,
                                                               int8.stat().st_size)}
        single = timings({name: (lambda f=f: f(batch[:1])) for name, (f, _, _) in engines.items()}, args.repeats)
        many = timings({name: (lambda f=f: f(batch)) for name, (f, _, _) in engines.items()},
                       max(3, args.repeats // 5))
        rows = []
        for name, (call, file, size) in engines.items():
            if file is None:
                acc = float((torch_logits(run, split.images).argmax(1) == split.labels.numpy()).mean())
                size = sum(t.numel() * t.element_size() for t in run.model.state_dict().values())
            else:
                acc = onnx_accuracy(file, split)
            one, full = single[name], many[name]
            rows.append((name, 1e3 * min(one), 1e3 * statistics.median(one), args.batch / min(full),
                         args.batch / statistics.median(full), acc, size / 1e6))

    c, h, w = run.input_shape
    print(f"model {run.config.model} ({run.path.name}), input {c}x{h}x{w}, {threads} threads, "
          f"{os.cpu_count()} CPUs; torch {torch.__version__}, onnxruntime {_ort_version()}")
    print()
    print(f"| engine | 1 image, ms (min / median) | batch {args.batch}, images/s (best / median) "
          f"| {split_name} acc ({len(split)}) | size MB |")
    print("|---|---:|---:|---:|---:|")
    for name, lo, med, best, typical, acc, mb in rows:
        print(f"| {name} | {lo:.3f} / {med:.3f} | {best:,.0f} / {typical:,.0f} | {acc:.4f} | {mb:.2f} |")
    return 0


def _ort_version() -> str:
    import onnxruntime
    return onnxruntime.__version__


if __name__ == "__main__":
    sys.exit(main())
