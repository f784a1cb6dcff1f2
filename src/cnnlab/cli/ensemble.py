"""`cnnlab ensemble RUN1 RUN2 ...`: each member and their average on one split; saved for `cnnlab predict`."""
from __future__ import annotations

import time
from pathlib import Path


def register(sub) -> None:
    from cnnlab.training.config import TTAS

    p = sub.add_parser("ensemble", help="evaluate runs and the mean of their probabilities; save it for predict",
                       description="Scores each member and the ensemble (weighted mean of the members' "
                                   "probabilities) on one split, writes the ensemble's confusion matrix and "
                                   "ensemble.json into --save (default runs/<time>-ensemble).")
    p.add_argument("runs", nargs="+", help="run directories (at least two; architectures may differ)")
    p.add_argument("--data", help="data to evaluate on (default: the first member's data)")
    p.add_argument("--data-dir", help="where named data sets are looked for (else $CNNLAB_DATA)")
    p.add_argument("--split", help="val or test (default: test if present, else val)")
    p.add_argument("--weights", default="equal",
                   help="equal | val (proportional to each member's validation accuracy) | w1,w2,... [equal]")
    p.add_argument("--tta", default="member", choices=["member", "none", *TTAS],
                   help="test-time augmentation: each member's own, or one for all (shift: 1-px moves, for "
                        "digits; flip: mirror images) [member]")
    p.add_argument("--save", help="folder for ensemble.json, metrics.json and confusion_matrix.png")
    p.add_argument("--device", default="auto")
    p.set_defaults(func=cmd_ensemble)


def cmd_ensemble(args) -> int:
    import dataclasses

    from cnnlab.runs.checkpoint import write_json
    from cnnlab.data import load_data
    from cnnlab.runs.ensemble import make_ensemble, save_ensemble, score
    from cnnlab.data.rundata import prepare_data
    from cnnlab.explain.viz.plots import plot_confusion

    weights = args.weights if args.weights in ("equal", "val") else args.weights.split(",")
    ens = make_ensemble(args.runs, weights, args.tta)
    first = ens.members[0]
    if args.data:
        data = load_data(args.data, data_dir=args.data_dir, image_size=first.input_shape[1:],
                         channels=first.input_shape[0])
    else:
        data = prepare_data(dataclasses.replace(first.config, data_dir=args.data_dir or first.config.data_dir))
    split = args.split or ("test" if "test" in data else "val")
    part = data[split]
    member_probs = ens.member_probabilities(part.images, args.device)
    member_reports, rep = score(ens, member_probs, part.labels)
    width = max(len(str(run.path)) for run in ens.members) + 2
    print(f"{data.name} / {split} split ({len(part)} images)"
          + ("" if args.tta == "member" else f", test-time augmentation: {args.tta}"))
    print(f"{'member':<{width}}{'model':<12}{'weight':>8}{'acc':>9}{'bal_acc':>9}{'macro_f1':>10}")
    rows = []
    for run, w, r in zip(ens.members, ens.weights, member_reports):
        macro_f1 = r.average("macro")["f1"]
        rows.append({"run": str(run.path), "model": run.config.model, "weight": w, "acc": r.accuracy,
                     "balanced_acc": r.balanced_accuracy, "macro_f1": macro_f1})
        print(f"{str(run.path):<{width}}{run.config.model:<12}{w:>8.3f}{r.accuracy:>9.4f}"
              f"{r.balanced_accuracy:>9.4f}{macro_f1:>10.4f}")
    print(f"{'ensemble':<{width}}{'':<12}{'':>8}{rep.accuracy:>9.4f}{rep.balanced_accuracy:>9.4f}"
          f"{rep.average('macro')['f1']:>10.4f}")
    out = Path(args.save or Path(first.config.runs_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-ensemble")
    save_ensemble(ens, out)
    plot_confusion(rep.confusion, ens.classes, out / "confusion_matrix.png", title=f"ensemble, {split} split")
    write_json(out / "metrics.json", {"split": split, "tta": args.tta, "members": rows, "ensemble": rep.to_dict()})
    best = max(r["acc"] for r in rows)
    print(f"best member {best:.4f}, ensemble {rep.accuracy:.4f} ({rep.accuracy - best:+.4f})")
    print(f"ensemble → {out} (use it with: cnnlab predict {out} IMAGES)")
    print(f"{split}_acc {rep.accuracy:.4f}")
    return 0
