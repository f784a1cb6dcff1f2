"""`cnnlab export RUN`: a self-describing model.onnx, checked against PyTorch; optionally an int8 copy."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

PARITY_TOLERANCE = 1e-4  # largest fp32 logit difference accepted between onnxruntime and PyTorch


def register(sub) -> None:
    from cnnlab.training.config import TTAS

    p = sub.add_parser("export", help="write a trained run as an ONNX file that classifies images on its own",
                       description="Export RUN (a run directory or .pt checkpoint) to ONNX: uint8 image input with "
                                   "a dynamic batch axis, the normalisation inside the graph, classes and input "
                                   "size in the metadata.  The file's logits are compared with PyTorch's on the "
                                   "run's test split (else val).")
    p.add_argument("run", help="a run directory or checkpoint (.pt)")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="[onnx]")
    p.add_argument("--opset", type=int, default=17, help="ONNX operator set [17]")
    p.add_argument("--out", help="the ONNX file to write [RUN/model.onnx]")
    p.add_argument("--quantize", choices=["int8"],
                   help="also write an int8 copy (<out>.int8.onnx) and report its test accuracy")
    p.add_argument("--quant-method", choices=["static", "dynamic"], default="static",
                   help="static: int8 weights and activations, calibrated on training images; "
                        "dynamic: int8 weights, activations quantized on the fly [static]")
    p.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript",
                   help="torch.onnx's TorchScript tracer, or the torch.export one (needs onnxscript) [torchscript]")
    p.add_argument("--tta", choices=["none", *TTAS],
                   help="test-time augmentation built into the graph (flip: mirror images; shift: 1-px moves, "
                        "for digits) [the run's own]")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.add_argument("--limit", type=int, help="check on the first N images of the split [all]")
    p.add_argument("--no-check", action="store_true",
                   help="skip the comparison with PyTorch (no data needed; use with --quant-method dynamic)")
    p.set_defaults(func=cmd_export)


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.2f} MB"


def cmd_export(args: argparse.Namespace) -> int:
    from cnnlab.deploy.onnx_export import (calibration_images, check_parity, evaluation_split, export_onnx,
                                           onnx_accuracy, quantize_int8)
    from cnnlab.training.config import chosen_tta
    from cnnlab.runs.rundir import load_run, run_data

    run = load_run(args.run)
    run.config = dataclasses.replace(run.config, tta=chosen_tta(args.tta, run.config.tta))
    out = Path(args.out) if args.out else run.path / "model.onnx"
    export_onnx(run, out, args.opset, args.exporter)
    print(f"wrote {out} ({_size(out)}, opset {args.opset}, {args.exporter} exporter, input uint8 "
          f"Bx{'x'.join(map(str, run.input_shape))}, {len(run.classes)} classes"
          + (f", {run.config.tta} test-time augmentation)" if run.config.tta else ")"))
    static = args.quantize == "int8" and args.quant_method == "static"
    data = None
    if not args.no_check or static:
        data = run_data(run, args.data_dir)
    status, parity = 0, None
    if not args.no_check:
        split, part = evaluation_split(data, args.limit)
        parity = check_parity(run, out, part, split)
        print(f"parity max_abs_diff {parity.max_abs_diff:.1e} ({parity.images} {split} images, "
              f"same class for {parity.agreement:.2%})")
        print(f"{split}_acc_torch {parity.acc_torch:.4f}")
        print(f"{split}_acc_onnx {parity.acc_onnx:.4f}")
        if not parity.max_abs_diff < PARITY_TOLERANCE:
            print(f"error: the ONNX logits differ from PyTorch's by {parity.max_abs_diff:.1e}, more than "
                  f"{PARITY_TOLERANCE:.0e}; {out} was written but should not be trusted", file=sys.stderr)
            status = 1
    if args.quantize == "int8":
        int8 = out.with_name(out.name.removesuffix(".onnx") + ".int8.onnx")
        quantize_int8(out, int8, calibration_images(data["train"]) if static else None, args.quant_method)
        print(f"wrote {int8} ({_size(int8)}, int8 {args.quant_method})")
        if parity is not None:
            acc = onnx_accuracy(int8, part)
            print(f"{split}_acc_int8 {acc:.4f} (change {acc - parity.acc_onnx:+.4f})")
    return status
