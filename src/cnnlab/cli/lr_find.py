"""`cnnlab lr-find DATA [train options]`: the learning-rate range test, its plot and the --lr it suggests."""
from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.cli.options import add_train_options, config_from_args


def register(sub) -> None:
    p = sub.add_parser("lr-find", help="learning-rate range test: a loss-vs-lr plot and the --lr to train with",
                       description="Train a copy of the model for at most ~100 steps while the learning rate grows "
                                   "exponentially from 1e-7 to 10 (Smith 2015; fastai's lr_find); stop when the "
                                   "smoothed loss diverges; suggest the lr where it falls fastest.  Nothing of the "
                                   "model or the data is kept.")
    p.add_argument("data", nargs="?", default=None, help="as for `cnnlab train` [mnist-mini]")
    p.add_argument("--config", help="a JSON file of configuration values (options given here override it)")
    p.add_argument("--steps", type=int, default=100, help="at most this many steps [100]")
    p.add_argument("--out", help="the plot (PNG); the values go to the same name with .csv "
                                 "[lr_find-<data>-<model>.png]")
    add_train_options(p)
    p.set_defaults(func=cmd_lr_find)


def cmd_lr_find(args: argparse.Namespace) -> int:
    from cnnlab.cli.progress import DownloadProgress
    from cnnlab.training.lr_find import lr_find_for, lr_find_figure

    cfg, explicit = config_from_args(args)
    if args.steps < 3:
        raise ValueError(f"--steps must be at least 3, got {args.steps}")
    result, info = lr_find_for(cfg, DownloadProgress(), explicit, args.steps)
    if info["init"]:
        print(f"init      {info['init']}")
    out = Path(args.out or f"lr_find-{Path(info['data']).name}-{info['model']}.png")
    fig = lr_find_figure(result, f"LR range test: {info['model']} on {info['data']} ({info['optimizer']}, batch "
                                 f"{info['batch_size']})")
    fig.savefig(out, dpi=120)
    table = out.with_suffix(".csv")
    table.write_text("step,lr,loss,smoothed_loss\n" + "".join(
        f"{i},{lr:.6g},{loss:.6g},{s:.6g}\n" for i, (lr, loss, s) in
        enumerate(zip(result.lrs, result.losses, result.smoothed))), encoding="utf-8")
    print(f"{len(result.lrs)} steps of {info['batch_size']} images ({info['images']} training images), lr "
          f"{result.lrs[0]:.1e} … {result.lrs[-1]:.2g}, {result.stopped}; plot {out}, values {table}")
    print(f"steepest descent at {result.suggestion:.2g}; minimum of the smoothed loss at {result.minimum_lr:.2g} "
          f"(a tenth of it: {result.min_over_10:.2g})")
    if info["recipe_lr"] is not None:
        print(f"the configuration's lr (recipe or option): {info['recipe_lr']:g}")
    print(f"--lr {result.suggestion:.2g}")
    return 0
