"""`cnnlab data SOURCE` describes a data set (downloading named ones); `cnnlab data make position` writes one."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnlab.cli.options import parse_size


def register(sub) -> None:
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


def cmd_data(args: argparse.Namespace) -> int:
    from cnnlab.cli.progress import DownloadProgress
    from cnnlab.data import load_data

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
    for note in data.meta.get("notes", ()):
        print(f"note: {note}")
    if not args.image_size:  # what `cnnlab train` would do with enlarged images
        from cnnlab.data.rundata import training_size_notes
        from cnnlab.training.config import TrainConfig

        cfg = TrainConfig(data=args.source[0], data_dir=args.data_dir, data_format=args.format,
                          channels=args.channels)
        for note in training_size_notes(cfg, data):
            print(f"note: {note}")
    return 0


def cmd_data_make(args: argparse.Namespace) -> int:
    from cnnlab.data.position import write_position

    if args.source[1:] != ["position"]:
        print("error: `cnnlab data make` knows one generated data set: position", file=sys.stderr)
        return 2
    out = Path(args.out or "position")
    for path in write_position(out, args.n, args.seed, args.object):
        print(f"wrote {path}")
    print(f"train a classifier: cnnlab train {out}   a regressor: cnnlab train {out} --target x (or y)")
    return 0
