"""See inside a CNN: worked convolutions (conv), shapes layer by layer (shapes), the filter gallery (filters),
a trained model's feature maps, kernels and Grad-CAM (explain), a batch of data (show-batch) and the images a
model gets most wrong (top-losses)."""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path


def _matrix(text: str):
    """'0100/0010' or '1,0,-1; 2,0,-2' or '105 102 / 103 99' → a 2-D int/float array."""
    import numpy as np

    rows = [r.strip() for r in re.split(r"[/;]", text) if r.strip()]
    try:
        values = [[float(v) for v in (re.split(r"[,\s]+", r) if re.search(r"[,\s]", r) else list(r))]
                  for r in rows]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected rows of numbers separated by / or ;, got {text!r}") from None
    if not values or len({len(r) for r in values}) != 1:
        raise argparse.ArgumentTypeError(f"rows of different lengths in {text!r}")
    array = np.array(values)
    return array.astype(int) if np.all(array == np.round(array)) else array


# ── conv ─────────────────────────────────────────────────────────────────────────────────────────────────
def cmd_conv(args: argparse.Namespace) -> int:
    from cnnlab.explain.ops.examples import EXAMPLES, compute, custom, steps_text

    if args.image is not None or args.kernel is not None:
        if args.image is None or args.kernel is None:
            raise ValueError("give both --image and --kernel")
        print(steps_text(custom(args.image, args.kernel, args.stride, args.padding, args.pool)))
        return 0
    if args.example is None:
        for ex in EXAMPLES.values():
            print(f"{ex.name:18s}{ex.title}")
        return 0
    if args.example not in EXAMPLES:
        raise ValueError(f"no example {args.example!r}; the examples are {', '.join(EXAMPLES)}")
    worked = compute(EXAMPLES[args.example])
    print(steps_text(worked))
    return 0 if worked.matches else 1


# ── shapes ───────────────────────────────────────────────────────────────────────────────────────────────
def cmd_shapes(args: argparse.Namespace) -> int:
    from cnnlab.explain.inside import single_thread
    from cnnlab.models import MODELS, build, count_parameters
    from cnnlab.explain.shapes import SLIDE_CLAIMS, size_path, walk, walk_text

    if args.model not in MODELS and Path(args.model).exists():  # a run directory or checkpoint
        from cnnlab.runs.rundir import load_run

        run = load_run(args.model)
        model, shape, name, where = run.model, run.input_shape, run.config.model, f"the run {args.model}"
    else:
        name = args.model
        shape = args.input or (SLIDE_CLAIMS[name][0] if name in SLIDE_CLAIMS else (1, 28, 28))
        model, where = build(name, shape, args.classes), f"{args.classes} classes"
    with single_thread():
        steps = walk(model, shape, name)
    dims = "×".join(map(str, shape))
    print(walk_text(steps, f"{name}: input {dims} (C×H×W), {where}", count_parameters(model)))
    print(f"sizes: {size_path(steps, shape)}")
    print("out = floor((n + 2p − d·(k−1) − 1)/s) + 1   (n input, k kernel, s stride, p padding, d dilation);"
          " conv params = (k·k·c_in + 1)·c_out")
    return 0


# ── filters ──────────────────────────────────────────────────────────────────────────────────────────────
def cmd_filters(args: argparse.Namespace) -> int:
    from cnnlab.explain.ops.filters import KERNELS, gallery
    from cnnlab.explain.viz.gallery import SAMPLE_IMAGE, gallery_figure, read_image, save_each
    from cnnlab.explain.viz.plots import save_figure

    names = None
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in KERNELS]
        if unknown:
            raise ValueError(f"unknown filter(s) {', '.join(unknown)}; known: {', '.join(KERNELS)}")
    source = Path(args.image) if args.image else SAMPLE_IMAGE
    image = read_image(source, args.max_size)
    results = gallery(image, names)
    out = Path(args.out)
    kind = "gray" if image.ndim == 2 else "RGB"
    h, w = image.shape[-2:]
    save_figure(gallery_figure(results, f"classic filters on {source.name} ({h}×{w} {kind})"), out / "filters.png")
    print(f"filter gallery ({len(results)} panels) → {out / 'filters.png'}")
    if args.each:
        paths = save_each(results, out)
        print(f"each result ({len(paths)} PNGs) → {out}/")
    return 0


# ── explain ──────────────────────────────────────────────────────────────────────────────────────────────
def cmd_explain(args: argparse.Namespace) -> int:
    from cnnlab.runs.checkpoint import write_json
    from cnnlab.explain.inside import class_index_of, explain, single_thread
    from cnnlab.runs.rundir import load_run
    from cnnlab.explain.samples import read_input
    from cnnlab.explain.viz.maps import grad_cam_figure, plot_feature_maps, plot_kernels, prediction_figure, save_input
    from cnnlab.explain.viz.plots import save_figure
    from cnnlab.modalities import modality_of

    start = time.perf_counter()
    with single_thread():  # one image: more threads only add start-up and contention
        run = load_run(args.run)
    out = Path(args.out) if args.out else run.path / "explain"
    lines = modality_of(run).explain(run, args.input, args.text, out, args.top_k)  # None: feature maps
    if lines is not None:  # text: the n-grams that fired; audio: the clip's waveform and spectrogram
        print("\n".join(lines))
        print(f"seconds {time.perf_counter() - start:.2f}")
        return 0
    item = read_input(run, args.input, args.index, args.split, args.data_dir)
    result = explain(run, item, class_index_of(run, args.class_))
    classes = run.classes
    written = [out / "input.png", out / "prediction.png"]
    save_input(item.image, written[0])
    save_figure(prediction_figure(item.image, result.top(args.top_k), classes, item.source, item.label), written[1])
    if result.kernels is not None:
        written.append(out / "kernels.png")
        plot_kernels(result.kernels, f"module {result.kernels_layer!r}", written[-1])
    for i, fm in enumerate(result.feature_maps, 1):
        written.append(out / f"feature_maps_{i}_{re.sub(r'[^A-Za-z0-9]+', '_', fm.layer)}.png")
        plot_feature_maps(fm.maps, f"conv layer {i} of {len(result.feature_maps)} (module {fm.layer!r}): {fm.label}",
                          written[-1], args.max_maps)
    if result.cam is not None:
        cam = result.cam
        written.append(out / "grad_cam.png")
        title = (f"Grad-CAM for class {classes[cam.class_index]!r} (p = {result.probabilities[cam.class_index]:.3f}), "
                 f"on the last conv layer (module {cam.layer!r}, {cam.coarse.shape[0]}×{cam.coarse.shape[1]})")
        save_figure(grad_cam_figure(item.image, cam.heatmap, title), written[-1])
    write_json(out / "explanation.json", {
        "run": str(run.path), "input": item.source, "label": classes[item.label] if item.label is not None else None,
        "predicted": classes[result.predicted],
        "top": [{"class": classes[i], "probability": round(p, 6)} for i, p in result.top(args.top_k)],
        "grad_cam_class": classes[result.cam.class_index] if result.cam else None,
        "conv_layers": [f"{fm.layer}: {fm.label}" for fm in result.feature_maps], "files": [p.name for p in written]})
    truth = f" (true: {classes[item.label]})" if item.label is not None else ""
    print(f"input {item.source}{truth}")
    for i, p in result.top(args.top_k):
        print(f"  {classes[i]:16s} {p:.4f}")
    if result.cam is None:
        print("no convolution layers: no feature maps, kernels or Grad-CAM for this model")
    for path in written:
        print(f"wrote {path}")
    print(f"seconds {time.perf_counter() - start:.2f}")
    return 0


# ── show-batch and top-losses ────────────────────────────────────────────────────────────────────────────
def cmd_show_batch(args: argparse.Namespace) -> int:
    from cnnlab.data import load_data
    from cnnlab.explain.viz.batch import show_batch
    from cnnlab.explain.viz.plots import save_figure

    data = load_data(args.data, data_dir=args.data_dir, image_size=tuple(args.image_size) if args.image_size else None,
                     channels=args.channels)
    split = args.split or next(iter(data.splits))
    out = save_figure(show_batch(data, split, args.n, args.seed, args.augment), args.out)
    n = min(args.n, len(data[split]))
    print(f"{n} images of {data.name} / {split}{' with augmentation' if args.augment else ''} → {out}")
    return 0


def cmd_top_losses(args: argparse.Namespace) -> int:
    from cnnlab.explain.inside import top_losses
    from cnnlab.runs.rundir import load_run, run_data
    from cnnlab.explain.viz.batch import top_losses_figure
    from cnnlab.explain.viz.plots import save_figure

    run = load_run(args.run)
    data = run_data(run, args.data_dir)
    split = args.split or next((s for s in ("test", "val") if s in data and data[s].labeled), None)
    if split is None:
        raise ValueError(f"{data.source}: no labelled test or val split; give --split")
    losses = top_losses(run, data[split], args.k)
    c = run.classes
    captions = [f"true {c[x.label]} → pred {c[x.predicted]}\np={x.p_predicted:.2f}  loss {x.loss:.2f}" for x in losses]
    out = Path(args.out) if args.out else run.path / "top_losses.png"
    save_figure(top_losses_figure(data[split].images[[x.index for x in losses]], captions,
                                  [x.label != x.predicted for x in losses],
                                  f"top {len(losses)} losses on the {split} split (−log p(true class)); red: "
                                  "misclassified"), out)
    for x in losses:
        print(f"{split}[{x.index}]  true {c[x.label]:12s} predicted {c[x.predicted]:12s} p={x.p_predicted:.3f} "
              f"p(true)={x.p_label:.3f} loss {x.loss:.3f}")
    print(f"top losses → {out}")
    return 0


# ── parsers ──────────────────────────────────────────────────────────────────────────────────────────────
def register(sub) -> None:
    from cnnlab.cli.options import parse_shape, parse_size

    p = sub.add_parser("conv", help="the course's worked convolution examples, step by step",
                       description="Print a worked example: input, kernel, each output cell's sum, the feature map.")
    p.add_argument("--list", action="store_true", help="list the examples (the default without --example)")
    p.add_argument("--example", metavar="NAME", help="print this example step by step")
    p.add_argument("--image", type=_matrix, help="your own image, rows separated by / (e.g. 0110/1001/0110)")
    p.add_argument("--kernel", type=_matrix, help="your own kernel, e.g. '1,0,-1/2,0,-2/1,0,-1'")
    p.add_argument("--stride", type=int, default=1, help="[1]")
    p.add_argument("--padding", type=int, default=0, help="zero padding on each side [0]")
    p.add_argument("--pool", type=int, help="then max-pool with this window (and stride)")
    p.set_defaults(func=cmd_conv)

    p = sub.add_parser("shapes", help="a model's shapes layer by layer, with the size and parameter formulas")
    p.add_argument("model", help="a registered model name (see `cnnlab models`) or a run directory")
    p.add_argument("--input", type=parse_shape, metavar="CxHxW",
                   help="input shape [the slide's input for the course's models, else 1x28x28]")
    p.add_argument("--classes", type=int, default=10, help="[10]")
    p.set_defaults(func=cmd_shapes)

    p = sub.add_parser("filters", help="apply the classic image kernels and write a labelled gallery PNG")
    p.add_argument("image", nargs="?", help="a gray or colour image (default: a bundled sample)")
    p.add_argument("--out", default="filters", help="output folder [filters]")
    p.add_argument("--each", action="store_true", help="also write each result as its own PNG")
    p.add_argument("--only", metavar="NAMES", help="comma-separated kernel names (default: all)")
    p.add_argument("--max-size", type=int, default=512, help="shrink larger images to this many pixels [512]")
    p.set_defaults(func=cmd_filters)

    p = sub.add_parser("explain", help="feature maps, kernels and Grad-CAM of a trained model for one input")
    p.add_argument("run", help="a run directory or checkpoint (.pt)")
    p.add_argument("input", nargs="?", help="an image file or file.csv:ROW (ROW counts data rows from 0); "
                                            "a .wav clip for an audio model; a .txt file for a text model")
    p.add_argument("--text", help="the text to explain (text models)")
    p.add_argument("--index", type=int, help="use image N of the run's own data instead")
    p.add_argument("--split", help="--index: test, val or train [test, else val]")
    p.add_argument("--class", dest="class_", metavar="CLASS", help="explain this class (name or index) "
                                                                  "instead of the predicted one")
    p.add_argument("--top-k", type=int, default=5, help="[5]")
    p.add_argument("--max-maps", type=int, default=64, help="feature maps drawn per layer (the most active) [64]")
    p.add_argument("--out", help="output folder [RUN/explain]")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("show-batch", help="a grid of sample images with their labels (optionally augmented)")
    p.add_argument("data", help="a data set name or a path")
    p.add_argument("--split", help="[the first split, usually train]")
    p.add_argument("--n", type=int, default=32, help="images [32]")
    p.add_argument("--augment", metavar="SPEC", help="also show the batch augmented by SPEC, side by side")
    p.add_argument("--seed", type=int, default=0, help="[0]")
    p.add_argument("--out", default="batch.png", help="[batch.png]")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.add_argument("--image-size", type=parse_size, metavar="HxW")
    p.add_argument("--channels", type=int, choices=[1, 3])
    p.set_defaults(func=cmd_show_batch)

    p = sub.add_parser("top-losses", help="the test images a trained model gets most confidently wrong")
    p.add_argument("run", help="a run directory or checkpoint (.pt)")
    p.add_argument("--k", type=int, default=16, help="[16]")
    p.add_argument("--split", help="[test, else val]")
    p.add_argument("--out", help="[RUN/top_losses.png]")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.set_defaults(func=cmd_top_losses)
