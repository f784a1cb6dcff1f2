"""`cnnlab train`, `cnnlab evaluate` and `cnnlab predict`: a run directory from data, its metrics, its predictions."""
from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.cli.options import add_train_options, config_from_args


def register(sub) -> None:
    from cnnlab.training.config import TTAS

    p = sub.add_parser("train", help="train a model and write a run directory",
                       description="Train a model on DATA (a data set name or a file/folder) and write "
                                   "runs/<time>-<data>-<model>/.  Without --epochs or --recipe, images train "
                                   "with their fast recipe within --time (default: a 3-minute budget; a "
                                   "budget long enough for their best recipe takes it).")
    p.add_argument("data", nargs="?", default=None,
                   help="mnist-mini (bundled), mnist, fashion-mnist, kmnist, cifar10, fer2013, or a path [mnist-mini]")
    p.add_argument("--config", help="a JSON file of configuration values (options given here override it)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in RUN (its last.pt) up to --epochs (a timed "
                                                    "run: up to the epochs its budget planned)")
    p.add_argument("--quiet", action="store_true", help="print only the final result lines")
    add_train_options(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="metrics and a confusion matrix of a trained run on a split")
    p.add_argument("run", help="a run directory, checkpoint (.pt) or ensemble folder (`cnnlab ensemble --save`)")
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
    p.add_argument("--ids", choices=("path", "name", "stem"), default="path",
                   help="--out: each image's id as its path, its file name, or its file name without the suffix "
                        "(the ids of most Kaggle sample_submission.csv files) [path]")
    p.add_argument("--show", type=int, default=20, help="print at most this many predictions [20]")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_predict)


def cmd_train(args: argparse.Namespace) -> int:
    from cnnlab.cli.progress import DownloadProgress
    from cnnlab.runs.rundir import load_checkpoint, summary_line
    from cnnlab.training.console import Console
    from cnnlab.training.pipeline import train
    from cnnlab.training.config import TrainConfig
    from cnnlab.training.recipes import LENGTH_FIELDS

    resume_dir, explicit = None, None
    if args.resume:
        if args.time is not None:
            raise ValueError(f"--time {args.time}: a resumed run continues the epochs its own plan chose; give "
                             "--epochs N to change them, or start a new run with --time")
        resume_dir = Path(args.resume)
        state = load_checkpoint(resume_dir if resume_dir.suffix == ".pt" else resume_dir / "last.pt")
        values = state["config"]
        if args.epochs is not None:
            values["epochs"] = args.epochs
        cfg = TrainConfig.from_dict(values)
        resume_dir = resume_dir.parent if resume_dir.suffix == ".pt" else resume_dir
    else:
        cfg, explicit = config_from_args(args)
        if {"epochs", "time"} <= explicit:
            raise ValueError(f"give --epochs ({cfg.epochs}) or --time ({cfg.time}), not both: a time budget plans "
                             "the epochs itself")
    console = Console(quiet=args.quiet)
    try:  # a NaN/inf loss ends the run with a ValueError: `error: epoch E, step S: ...`, exit status 2
        result = train(cfg, [console], resume_dir=resume_dir, progress=DownloadProgress(), explicit=explicit,
                       default_run=explicit is not None and not explicit & LENGTH_FIELDS,  # --time alone: its budget
                       started=getattr(args, "started", None))  # the budget counts from the command's start
    finally:
        console.close()
    if not result.main:  # another rank of a torchrun job: rank 0 reports
        return 0
    print(f"run_dir {result.run_dir}")
    for split, rep in result.reports.items():
        for key, value in rep.headline.items():
            print(f"{split}_{key} {value:.4f}")
        if hasattr(rep, "balanced_accuracy"):  # classification: what accuracy hides on imbalanced classes
            print(f"{split}_balanced_acc {rep.balanced_accuracy:.4f}")
            print(f"{split}_macro_f1 {rep.average('macro')['f1']:.4f}")
    print(f"seconds {result.seconds:.1f}")
    print(summary_line(result.fit.monitor, result.fit.best_value, result.fit.best_epoch))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from cnnlab.runs.ensemble import is_ensemble, load_ensemble, score_ensemble, set_tta
    from cnnlab.runs.rundir import load_run
    from cnnlab.runs.scoring import score_run
    from cnnlab.explain.viz.plots import plot_confusion

    if is_ensemble(args.run):  # an ensemble folder (`cnnlab ensemble --save`): scored as one model
        ens = load_ensemble(args.run)
        if args.tta:  # over the members' own (or the saved one), as `cnnlab ensemble --tta` sets it
            set_tta(ens.members, args.tta)
            ens.tta = args.tta
        score = score_ensemble(ens, args.data, args.data_dir, args.split, args.device)
        path, classes, what = Path(args.run), ens.classes, f"ensemble of {len(ens.members)} runs"
        tta = None if ens.tta == "member" else ens.tta
    else:
        run = load_run(args.run)
        score = score_run(run, args.data, args.data_dir, args.split, args.device, args.tta)
        path, classes, what, tta = run.path, run.classes, f"model {run.config.model}", score.tta
    rep, split = score.report, score.split
    print(f"{score.data_name} / {split} split, {what} from {path}"
          + (f", test-time augmentation: {tta}" if tta and tta != "none" else ""))
    for note in score.notes:
        print(f"note      {note}")
    print(rep.text())
    if hasattr(rep, "confusion"):
        out = Path(args.out) if args.out else path / f"confusion_matrix_{split}.png"
        plot_confusion(rep.confusion, classes, out, title=f"{score.data_name} {split}")
        print(f"confusion matrix → {out}")
    for key, value in rep.headline.items():
        print(f"{split}_{key} {value:.4f}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from cnnlab.deploy.predictions import accuracy_of, write_predictions

    if args.run.lower().endswith(".onnx"):  # onnxruntime + NumPy + Pillow only: this path never imports torch
        from cnnlab.deploy import onnx_predict

        model = onnx_predict.OnnxClassifier.load(args.run)
        images, ids, labels = onnx_predict.read_inputs(args.inputs, model.input_shape, model.classes)
        predictions = onnx_predict.predict(model, images, ids, labels, args.top_k)
        classes = model.classes
    else:
        from cnnlab.runs.predict import load_predictor, predict, read_inputs

        predictor = load_predictor(args.run)
        images, ids, labels = read_inputs(predictor, args.inputs, args.text)
        predictions = predict(predictor, images, ids, labels, args.top_k, args.device)
        classes = predictor.classes
    if args.out:
        write_predictions(Path(args.out), predictions, classes, names=args.names, ids=args.ids)
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
