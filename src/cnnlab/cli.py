"""The `cnnlab` command: parses arguments, calls the library, prints.  No computing happens here."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import sys
from pathlib import Path

from . import __version__

TRAIN_OPTION_SKIP = {"data", "extra"}


def _field_help() -> dict[str, str]:
    """The comment after each TrainConfig field, used as its --option's help."""
    from .config import TrainConfig

    helps = {}
    for line in inspect.getsource(TrainConfig).splitlines():
        m = re.match(r"\s+(\w+): [^=]+=.*?#\s*(.*)$", line)
        if m:
            helps[m.group(1)] = m.group(2).replace("%", "%%")
    return helps


def parse_size(text: str) -> list[int]:
    """'48' → [48, 48]; '48x64' → [48, 64]."""
    parts = re.split(r"[x×,]", text.lower())
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HxW such as 48x48, got {text!r}") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected HxW such as 48x48, got {text!r}")
    return values


def parse_shape(text: str) -> tuple[int, int, int]:
    """'1x48x48' → (1, 48, 48)."""
    try:
        values = tuple(int(p) for p in re.split(r"[x×,]", text.lower()))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise argparse.ArgumentTypeError(f"expected CxHxW such as 1x28x28, got {text!r}")
    return values  # type: ignore[return-value]


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """One --option per TrainConfig field, typed from its annotation, defaulting to 'not given'."""
    from .config import TrainConfig

    helps = _field_help()
    group = parser.add_argument_group("training configuration (defaults in brackets)")
    for f in dataclasses.fields(TrainConfig):
        if f.name in TRAIN_OPTION_SKIP:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        help_text = f"{helps.get(f.name, '')} [{default}]"
        kind = str(f.type)
        if kind == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif f.name == "image_size":
            group.add_argument(flag, type=parse_size, default=None, metavar="HxW", help=help_text)
        else:
            convert = int if kind.startswith("int") else float if kind.startswith("float") else str
            group.add_argument(flag, type=convert, default=None, metavar=f.name.upper(), help=help_text)


def config_from_args(args: argparse.Namespace):
    """(TrainConfig, the fields set explicitly): --config FILE (if given), overridden by command-line options."""
    from .config import TrainConfig, read_json

    values = read_json(args.config) if args.config else {}
    explicit = set(values)
    if args.data is not None:
        values["data"] = args.data
    for f in dataclasses.fields(TrainConfig):
        given = getattr(args, f.name, None)
        if f.name not in TRAIN_OPTION_SKIP and given is not None:
            values[f.name] = given
            explicit.add(f.name)
    return TrainConfig.from_dict(values), explicit


# ── subcommands ──────────────────────────────────────────────────────────────────────────────────────────
def cmd_train(args: argparse.Namespace) -> int:
    from .console import DownloadProgress, TrainingConsole
    from .runs import load_checkpoint, summary_line
    from .train import train
    from .config import TrainConfig

    resume_dir, explicit = None, None
    if args.resume:
        resume_dir = Path(args.resume)
        state = load_checkpoint(resume_dir if resume_dir.suffix == ".pt" else resume_dir / "last.pt")
        values = state["config"]
        if args.epochs is not None:
            values["epochs"] = args.epochs
        cfg = TrainConfig.from_dict(values)
        resume_dir = resume_dir.parent if resume_dir.suffix == ".pt" else resume_dir
    else:
        cfg, explicit = config_from_args(args)
    console = TrainingConsole(quiet=args.quiet)
    result = train(cfg, console, resume_dir=resume_dir, progress=DownloadProgress(), explicit=explicit)
    if not result.main:  # another rank of a torchrun job: rank 0 reports
        return 0
    print(f"run_dir {result.run_dir}")
    for split, rep in result.reports.items():
        for key, value in rep.headline.items():
            print(f"{split}_{key} {value:.4f}")
    print(f"seconds {result.seconds:.1f}")
    print(summary_line(result.fit.monitor, result.fit.best_value, result.fit.best_epoch))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .config import chosen_tta
    from .data import load_data
    from .device import pick_device
    from .evaluate import predict_logits, report
    from .runs import load_run
    from .rundata import prepare_data
    from .viz.plots import plot_confusion

    run = load_run(args.run)
    if args.data:
        data = load_data(args.data, data_dir=args.data_dir, image_size=run.input_shape[1:],
                         channels=run.input_shape[0])
    else:  # the run's own data, with the same validation split
        data = prepare_data(dataclasses.replace(run.config, data_dir=args.data_dir or run.config.data_dir))
    split = args.split or ("test" if "test" in data else "val" if "val" in data else next(iter(data.splits)))
    if split not in data:
        print(f"error: {data.name} has no split {split!r} (it has {', '.join(data.splits)})", file=sys.stderr)
        return 2
    part = data[split]
    if not part.labeled:
        print(f"error: split {split!r} of {data.source} has no labels to evaluate against", file=sys.stderr)
        return 2
    if data.classes != run.classes and len(data.classes) != len(run.classes):
        print(f"error: the data has {len(data.classes)} classes, the model {len(run.classes)}", file=sys.stderr)
        return 2
    device = pick_device(args.device)
    run.model.to(device)
    tta = chosen_tta(args.tta, run.config.tta)
    logits = predict_logits(run.model, part.images, run.preprocess, device, None, 1024, run.config.channels_last,
                            tta)
    rep = report(logits, part.labels, run.classes, run.config.loss, run.config.top_k)
    print(f"{data.name} / {split} split, model {run.config.model} from {run.path}"
          + (f", test-time augmentation: {tta}" if tta else ""))
    print(rep.text())
    if hasattr(rep, "confusion"):
        out = Path(args.out) if args.out else run.path / f"confusion_matrix_{split}.png"
        plot_confusion(rep.confusion, run.classes, out, title=f"{data.name} {split}")
        print(f"confusion matrix → {out}")
    for key, value in rep.headline.items():
        print(f"{split}_{key} {value:.4f}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from .predictions import accuracy_of, write_predictions

    if args.run.lower().endswith(".onnx"):  # onnxruntime + NumPy + Pillow only: this path never imports torch
        from . import onnx_predict

        model = onnx_predict.OnnxClassifier.load(args.run)
        images, ids, labels = onnx_predict.read_inputs(args.inputs, model.input_shape)
        predictions = onnx_predict.predict(model, images, ids, labels, args.top_k)
        classes = model.classes
    else:
        from .predict import load_predictor, predict, read_inputs

        predictor = load_predictor(args.run)
        images, ids, labels = read_inputs(predictor, args.inputs, args.text)
        predictions = predict(predictor, images, ids, labels, args.top_k, args.device)
        classes = predictor.classes
    if args.out:
        write_predictions(Path(args.out), predictions, classes, names=args.names)
    if not args.out or len(predictions) <= args.show:
        for p in predictions[:args.show]:
            tops = "  ".join(f"{c} {prob:.3f}" for c, prob in p.top)
            print(f"{p.id}: {tops}")
        if len(predictions) > args.show:
            print(f"... {len(predictions) - args.show} more (use --out FILE to write them all)")
    if args.out:
        print(f"wrote {len(predictions)} predictions → {args.out}")
    acc = accuracy_of(predictions)
    if acc is not None:
        print(f"acc {acc:.4f}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .models import MODELS, build, count_flops, count_parameters

    shape = args.input
    print(f"{'model':14s}{'params':>12s}{'MFLOPs':>10s}  (per {'x'.join(map(str, shape))} image, {args.classes} classes;"
          f" FLOPs = 2 × multiply-adds of conv/dense layers)")
    for name, spec in MODELS.items():
        try:
            model = build(name, shape, args.classes)
            params, mflops = f"{count_parameters(model):,}", f"{count_flops(model, shape) / 1e6:,.2f}"
        except ValueError:  # the input is too small for its pools, or not the kind it takes (text, audio)
            params, mflops = "n/a", "-"
        print(f"{name:14s}{params:>12s}{mflops:>10s}  {spec.summary}")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from .models import build, summary_table

    print(f"model {args.model}, input {'x'.join(map(str, args.input))}, {args.classes} classes")
    print(summary_table(build(args.model, args.input, args.classes), args.input))
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from .recipes import describe

    print("recipe  kind    values (digits: 1 channel, 13-32 px; tiny: 1 channel under 13 px; faces: 1 channel"
          " ≤ 96 px; color: 3 channels ≤ 64 px; 'default' applies to text and audio data when no recipe is named)")
    print(describe())
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from .console import DownloadProgress
    from .data import load_data

    if args.source[0] == "make":
        return cmd_data_make(args)
    if len(args.source) != 1:
        print(f"error: expected one data set, got {' '.join(args.source)}", file=sys.stderr)
        return 2
    data = load_data(args.source[0], data_dir=args.data_dir, fmt=args.format,
                     image_size=tuple(args.image_size) if args.image_size else None, channels=args.channels,
                     progress=DownloadProgress())
    print(data.describe())
    print(f"classes: {', '.join(data.classes)}")
    print(f"source: {data.source}")
    return 0


def cmd_data_make(args: argparse.Namespace) -> int:
    from .data.position import write_position

    if args.source[1:] != ["position"]:
        print("error: `cnnlab data make` knows one generated data set: position", file=sys.stderr)
        return 2
    out = Path(args.out or "position")
    for path in write_position(out, args.n, args.seed, args.object):
        print(f"wrote {path}")
    print(f"train a classifier: cnnlab train {out}   a regressor: cnnlab train {out} --target x (or y)")
    return 0


# ── parser ───────────────────────────────────────────────────────────────────────────────────────────────
def build_parser() -> argparse.ArgumentParser:
    from .config import TTAS

    parser = argparse.ArgumentParser(prog="cnnlab", description="Train, inspect and use CNN classifiers.")
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model and write a run directory",
                       description="Train a model on DATA (a data set name or a file/folder) and write "
                                   "runs/<time>-<data>-<model>/.")
    p.add_argument("data", nargs="?", default=None,
                   help="mnist-mini (bundled), mnist, fashion-mnist, kmnist, cifar10, fer2013, or a path [mnist-mini]")
    p.add_argument("--config", help="a JSON file of configuration values (options given here override it)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in RUN (its last.pt) up to --epochs")
    p.add_argument("--quiet", action="store_true", help="print only the final result lines")
    add_train_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics and a confusion matrix of a trained run on a split")
    p.add_argument("run", help="a run directory or checkpoint (.pt)")
    p.add_argument("--data", help="data to evaluate on (default: the run's own data)")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.add_argument("--split", help="train, val or test (default: test if present, else val)")
    p.add_argument("--out", help="confusion matrix PNG (default: RUN/confusion_matrix_<split>.png)")
    p.add_argument("--tta", choices=["none", *TTAS],
                   help="test-time augmentation instead of the run's own (shift: 1-px moves; flip: mirror images)")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify image files or CSV rows with a trained run")
    p.add_argument("run", help="a run directory, checkpoint (.pt), ensemble folder (`cnnlab ensemble --save`), "
                               "or model.onnx from `cnnlab export` (runs with onnxruntime alone)")
    p.add_argument("inputs", nargs="*", help="image files or a CSV of pixel rows (id,feature or label,feature); "
                                             ".txt files for a text model; .wav files for an audio model")
    p.add_argument("--text", action="append", metavar="TEXT", help="a text to classify (text models; repeatable)")
    p.add_argument("--top-k", type=int, default=3, help="classes shown per input [3]")
    p.add_argument("--out", help="write a Kaggle-style id,label CSV")
    p.add_argument("--names", action="store_true", help="--out: write class names instead of class indices")
    p.add_argument("--show", type=int, default=20, help="print at most this many predictions [20]")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("models", help="list the models in the registry")
    p.add_argument("--input", type=parse_shape, default=(1, 28, 28), metavar="CxHxW", help="[1x28x28]")
    p.add_argument("--classes", type=int, default=10, help="[10]")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("summary", help="a Keras-style table of a model's layers, shapes and parameters")
    p.add_argument("model")
    p.add_argument("--input", type=parse_shape, default=(1, 28, 28), metavar="CxHxW", help="[1x28x28]")
    p.add_argument("--classes", type=int, default=10, help="[10]")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("recipes", help="the tuned presets of `cnnlab train --recipe fast|best`")
    p.set_defaults(func=cmd_recipes)

    p = sub.add_parser("data", help="describe a data set (downloading named ones), or make one: data make position",
                       description="cnnlab data SOURCE describes a data set; cnnlab data make position --n N "
                                   "writes the course's left-or-right exercise (train.csv.gz, test.csv.gz).")
    p.add_argument("source", nargs="+", help="a data set name or a path; or: make position")
    p.add_argument("--n", type=int, default=10000, help="make: number of images [10000]")
    p.add_argument("--object", choices=["digits", "shapes"], default="digits", help="make: what to place [digits]")
    p.add_argument("--seed", type=int, default=0, help="make: [0]")
    p.add_argument("--out", help="make: output folder [position]")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.add_argument("--format", choices=["idx", "csv", "folder", "cifar10"])
    p.add_argument("--image-size", type=parse_size, metavar="HxW")
    p.add_argument("--channels", type=int, choices=[1, 3])
    p.set_defaults(func=cmd_data)

    from .commands import register_all

    register_all(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from .checkpoint import CheckpointError
    from .data import DataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, CheckpointError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        return 0


if __name__ == "__main__":
    sys.exit(main())
