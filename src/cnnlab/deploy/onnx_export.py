"""A trained run → one ONNX file that classifies images on its own, checked against PyTorch; int8 quantization.

The graph takes uint8 images (B, C, H, W) in 0-255 with a dynamic batch axis and applies the run's
normalisation and test-time augmentation (if the run uses one) itself, so a caller only decodes and resizes.
metadata_props (JSON values) record the input size, channels, normalisation, classes and output kind, which
cnnlab.deploy.onnx_predict reads.
"""
from __future__ import annotations

import contextlib
import io
import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnlab.runs.checkpoint import atomic_write  # noqa: E402
from cnnlab.data import Split
from cnnlab.runs.evaluate import predict_logits, tta_logits
from cnnlab.deploy.onnx_predict import FORMAT, VERSION, OnnxClassifier
from cnnlab.data.preprocess import Preprocess
from cnnlab.modalities import modality_of
from cnnlab.runs.rundir import LoadedRun

OPSET = 17
EXPORTERS = ("torchscript", "dynamo")  # torch.onnx's legacy tracer (no extra package) | torch.export + onnxscript
QUANT_METHODS = ("static", "dynamic")
INPUT_NAME, OUTPUT_NAME = "image", "logits"
CALIBRATION_IMAGES = 512  # training images that set the int8 activation ranges
CALIBRATION_BATCH = 64


class WithPreprocess(nn.Module):
    """uint8 (B, C, H, W) 0-255 → logits (B, K): the run's normalisation, model and test-time augmentation
    (flip or shift: the views' logits averaged, as `cnnlab evaluate` does) as one graph."""

    def __init__(self, model: nn.Module, preprocess: Preprocess, tta: str | None = None):
        super().__init__()
        self.model, self.preprocess, self.tta = model, preprocess, tta

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return tta_logits(self.model, self.preprocess(image), self.tta, stacked=True)


def metadata(run: LoadedRun, quantized: str | None = None) -> dict[str, str]:
    """The metadata_props (JSON values) that make the file enough to classify an image."""
    c, h, w = run.input_shape
    p = run.preprocess
    values = {
        "cnnlab": {"format": FORMAT, "version": VERSION, "quantized": quantized},
        "classes": list(run.classes),
        "input": {"name": INPUT_NAME, "dtype": "uint8", "layout": "NCHW", "shape": [c, h, w], "channels": c,
                  "height": h, "width": w, "color": "L" if c == 1 else "RGB", "range": [0, 255],
                  "resize": "bilinear"},
        # applied inside the graph; recorded so other runtimes can see what the model expects
        "preprocess": {"in_graph": True, "formula": "(x/255 - mean) / std", "mode": p.mode,
                       "mean": _as_list(p.mean), "std": _as_list(p.std)},  # (C,1,1) per channel or (C,H,W) per pixel
        "output": {"name": OUTPUT_NAME, "kind": "logits",
                   "probabilities": "sigmoid" if run.config.loss == "bce" else "softmax",
                   "tta": run.config.tta or "none"},  # in the graph: the views' logits averaged
        "model": {"name": run.config.model, "data": run.config.data, "run": run.path.name},
    }
    return {k: json.dumps(v) for k, v in values.items()}


def _as_list(t: torch.Tensor | None) -> list | None:
    return t.tolist() if t is not None else None


def set_metadata(proto, props: dict[str, str]) -> None:
    """Replace the model's metadata_props by `props`."""
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value


def _onnx():
    """The onnx package, or a clear error naming what to install."""
    try:
        import onnx
    except ImportError:
        raise ValueError("exporting to ONNX needs the onnx and onnxruntime packages: "
                         "pip install onnx onnxruntime (or cnnlab[export])") from None
    return onnx


def to_onnx_proto(run: LoadedRun, opset: int = OPSET, exporter: str = "torchscript"):
    """The run's preprocessing + model as an onnx.ModelProto with a dynamic batch axis."""
    onnx = _onnx()
    if not modality_of(run).exports_onnx(run):  # text/audio runs read raw inputs through Python code
        raise ValueError(f"{run.path}: ONNX export takes image models; this run reads "
                         f"{run.input_meta.get('kind', 'non-image')} input")

    if exporter not in EXPORTERS:
        raise ValueError(f"exporter {exporter!r} is not one of {', '.join(EXPORTERS)}")
    module = WithPreprocess(run.model.cpu().eval(), run.preprocess, run.config.tta).eval()
    example = torch.zeros(2, *run.input_shape, dtype=torch.uint8)  # (B, C, H, W)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice; dynamo's opset notes
        if exporter == "torchscript":
            buffer = io.BytesIO()
            torch.onnx.export(module, (example,), buffer, dynamo=False, opset_version=opset,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], do_constant_folding=True,
                              dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
            proto = onnx.load_from_string(buffer.getvalue())
        else:
            try:
                import onnxscript  # noqa: F401
            except ImportError:
                raise ValueError("the dynamo exporter needs onnxscript (pip install onnxscript); "
                                 "or use --exporter torchscript") from None
            program = torch.onnx.export(module, (example,), dynamo=True, opset_version=opset, verbose=False,
                                        input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                        dynamic_shapes=({0: torch.export.Dim("batch")},))
            proto = program.model_proto
    proto.producer_name = "cnnlab"
    return proto


def export_onnx(run: LoadedRun, out: str | Path, opset: int = OPSET, exporter: str = "torchscript") -> Path:
    """Write the run as a self-describing ONNX file (atomically); returns its path."""
    onnx = _onnx()

    out = Path(out)
    proto = to_onnx_proto(run, opset, exporter)
    set_metadata(proto, metadata(run))
    onnx.checker.check_model(proto)
    atomic_write(out, lambda tmp: onnx.save(proto, str(tmp)))
    return out


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over uint8 images, a batch at a time."""

    def __init__(self, images: np.ndarray, batch: int = CALIBRATION_BATCH):
        self.batches = iter([images[lo:lo + batch] for lo in range(0, len(images), batch)])

    def get_next(self) -> dict | None:
        x = next(self.batches, None)
        return None if x is None else {INPUT_NAME: np.ascontiguousarray(x)}


def quantize_int8(src: str | Path, out: str | Path, calibration: np.ndarray | None = None,
                  method: str = "static") -> Path:
    """int8 weights (and, for 'static', int8 activations calibrated on `calibration` uint8 images) → `out`."""
    onnx = _onnx()
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType, quantize_dynamic,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if method not in QUANT_METHODS:
        raise ValueError(f"quantization method {method!r} is not one of {', '.join(QUANT_METHODS)}")
    if method == "static" and (calibration is None or len(calibration) == 0):
        raise ValueError("static int8 quantization needs calibration images (the run's training split)")
    src, out = Path(src), Path(out)
    props = {p.key: p.value for p in onnx.load(str(src), load_external_data=False).metadata_props}
    tag = json.loads(props["cnnlab"])
    props["cnnlab"] = json.dumps({**tag, "quantized": f"int8-{method}"})
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        prepared, quantized = Path(tmp) / "prepared.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)  # fold, fuse, infer shapes
        if method == "static":
            quantize_static(str(prepared), str(quantized), _Calibration(calibration), quant_format=QuantFormat.QDQ,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
        else:
            quantize_dynamic(str(prepared), str(quantized), per_channel=True, weight_type=QuantType.QInt8)
        proto = onnx.load(str(quantized))
    set_metadata(proto, props)
    atomic_write(out, lambda tmp: onnx.save(proto, str(tmp)))
    return out


@dataclass
class Parity:
    """ONNX vs PyTorch on the same labelled images."""

    split: str  # which split the images came from
    images: int
    max_abs_diff: float  # of the logits, fp32 PyTorch without autocast vs onnxruntime
    agreement: float  # share of images with the same predicted class
    acc_torch: float
    acc_onnx: float


def torch_logits(run: LoadedRun, images: torch.Tensor) -> np.ndarray:
    """fp32 logits (N, K) of the run's PyTorch model on the CPU, without autocast, with the run's TTA."""
    return predict_logits(run.model, images, run.preprocess, torch.device("cpu"), None, 1024,
                          run.config.channels_last, run.config.tta).numpy()


def check_parity(run: LoadedRun, onnx_file: str | Path, split: Split, split_name: str) -> Parity:
    """Compare the exported file's logits with PyTorch's on a labelled split."""
    reference = torch_logits(run, split.images)
    logits = OnnxClassifier.load(onnx_file).logits(split.images.numpy())
    labels = split.labels.numpy()
    return Parity(split_name, len(labels), float(np.abs(logits - reference).max(initial=0.0)),
                  float((logits.argmax(1) == reference.argmax(1)).mean()),
                  float((reference.argmax(1) == labels).mean()), float((logits.argmax(1) == labels).mean()))


def onnx_accuracy(onnx_file: str | Path, split: Split) -> float:
    """Share of a labelled split that the ONNX file classifies correctly."""
    logits = OnnxClassifier.load(onnx_file).logits(split.images.numpy())
    return float((logits.argmax(1) == split.labels.numpy()).mean())


def calibration_images(split: Split, n: int = CALIBRATION_IMAGES, seed: int = 0) -> np.ndarray:
    """n training images drawn at random (fixed seed), uint8 (n, C, H, W)."""
    gen = torch.Generator().manual_seed(seed)
    index = torch.randperm(len(split), generator=gen)[:n]
    return split.images[index].numpy()


def evaluation_split(data, limit: int | None = None) -> tuple[str, Split]:
    """The split to check an export on: test if the data has one, else val; its first `limit` images."""
    name = "test" if "test" in data else "val" if "val" in data else None
    if name is None or not data[name].labeled:
        raise ValueError(f"{data.source or data.name}: no labelled test or val split to check the export on "
                         "(pass --no-check to skip the check)")
    part = data[name]
    if limit and limit < len(part):
        part = part.subset(torch.arange(limit))
    return name, part
