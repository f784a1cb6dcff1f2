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
    from cnnlab.runs.ensemble import make_ensemble, score_ensemble, write_ensemble

    weights = args.weights if args.weights in ("equal", "val") else args.weights.split(",")
    ens = make_ensemble(args.runs, weights, args.tta)
    result = score_ensemble(ens, args.data, args.data_dir, args.split, args.device)
    rows = result.member_rows(ens)
    width = max(len(row["run"]) for row in rows) + 2
    print(f"{result.data_name} / {result.split} split ({result.images} images)"
          + ("" if args.tta == "member" else f", test-time augmentation: {args.tta}"))
    for note in result.notes:
        print(f"note      {note}")
    print(f"{'member':<{width}}{'model':<12}{'weight':>8}{'acc':>9}{'bal_acc':>9}{'macro_f1':>10}")
    for row in rows:
        print(f"{row['run']:<{width}}{row['model']:<12}{row['weight']:>8.3f}{row['acc']:>9.4f}"
              f"{row['balanced_acc']:>9.4f}{row['macro_f1']:>10.4f}")
    rep = result.report
    print(f"{'ensemble':<{width}}{'':<12}{'':>8}{rep.accuracy:>9.4f}{rep.balanced_accuracy:>9.4f}"
          f"{rep.average('macro')['f1']:>10.4f}")
    out = write_ensemble(ens, result, args.save or Path(ens.members[0].config.runs_dir)
                         / f"{time.strftime('%Y%m%d-%H%M%S')}-ensemble")
    best = max(row["acc"] for row in rows)
    print(f"best member {best:.4f}, ensemble {rep.accuracy:.4f} ({rep.accuracy - best:+.4f})")
    print(f"ensemble → {out} (use it with: cnnlab predict {out} IMAGES)")
    print(f"{result.split}_acc {rep.accuracy:.4f}")
    return 0
