"""`cnnlab models`, `cnnlab summary` and `cnnlab recipes`: what models and presets there are."""
from __future__ import annotations

import argparse

from cnnlab.cli.options import parse_shape


def register(sub) -> None:
    p = sub.add_parser("models", help="list the models in the registry")
    p.add_argument("--input", type=parse_shape, default=(1, 28, 28), metavar="CxHxW", help="[1x28x28]")
    p.add_argument("--classes", type=int, default=10, help="[10]")
    p.add_argument("--weights", action="store_true",
                   help="list the published weight files of the models that take --pretrained, and their URLs")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("summary", help="a Keras-style table of a model's layers, shapes and parameters")
    p.add_argument("model")
    p.add_argument("--input", type=parse_shape, default=(1, 28, 28), metavar="CxHxW", help="[1x28x28]")
    p.add_argument("--classes", type=int, default=10, help="[10]")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("recipes", help="the tuned presets of `cnnlab train --recipe fast|best`")
    p.set_defaults(func=cmd_recipes)


def cmd_models(args: argparse.Namespace) -> int:
    from cnnlab.models import MODELS
    from cnnlab.models.catalog import catalog
    from cnnlab.runs.pretrained import weights_dir

    folder = weights_dir()
    if args.weights:
        print(f"{'model':20s}{'file (in ' + str(folder) + ')':60s}{'':8s}URL")
        for name, spec in MODELS.items():
            if spec.pretrained is not None:
                there = "cached" if (folder / spec.pretrained.file).is_file() else "-"
                print(f"{name:20s}{spec.pretrained.file:60s}{there:8s}{spec.pretrained.url}")
        return 0
    shape = args.input
    print(f"{'model':20s}{'params':>12s}{'MFLOPs':>10s}  {'ImageNet':9s}(per {'x'.join(map(str, shape))} image, "
          f"{args.classes} classes; FLOPs = 2 × multiply-adds of conv/dense layers; ImageNet: takes --pretrained)")
    for row in catalog(shape, args.classes):
        params = "n/a" if row.parameters is None else f"{row.parameters:,}"
        mflops = "-" if row.flops is None else f"{row.flops / 1e6:,.2f}"
        imagenet = "cached" if row.cached else "yes" if row.pretrained else ""
        print(f"{row.name:20s}{params:>12s}{mflops:>10s}  {imagenet:9s}{row.summary}")
    print(f"pretrained weights: looked for in {folder} ($CNNLAB_CACHE/weights), downloaded there once (SHA-256 "
          f"checked) unless --pretrained-weights FILE; file names and URLs: cnnlab models --weights")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from cnnlab.models import build, summary_table

    print(f"model {args.model}, input {'x'.join(map(str, args.input))}, {args.classes} classes")
    print(summary_table(build(args.model, args.input, args.classes), args.input))
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from cnnlab.training.recipes import describe

    print("recipe  kind    values (digits: 1 channel, 13-32 px; tiny: 1 channel under 13 px, or colour ≤ 48 px /"
          " gray ≤ 64 px with a side under 16 px; faces: 1 channel ≤ 64 px; color: 3 channels ≤ 48 px; photo: larger;"
          " 'default' applies to text and audio data when no recipe is named)")
    print(describe())
    return 0
