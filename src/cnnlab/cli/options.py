"""Shared option parsing for the commands: sizes and shapes, and one --option per TrainConfig field."""
from __future__ import annotations

import argparse
import dataclasses
import re

TRAIN_OPTION_SKIP = {"data", "extra"}


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
    from cnnlab.training.config import TrainConfig

    group = parser.add_argument_group("training configuration (defaults in brackets)")
    for f in dataclasses.fields(TrainConfig):
        if f.name in TRAIN_OPTION_SKIP:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = f.default
        help_text = f"{f.metadata.get('help', '')} [{default}]".replace("%", "%%")
        choices = f.metadata.get("choices")
        kind = str(f.type)
        if kind == "bool":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif f.name == "image_size":
            group.add_argument(flag, type=parse_size, default=None, metavar="HxW", help=help_text)
        else:
            convert = int if kind.startswith("int") else float if kind.startswith("float") else str
            group.add_argument(flag, type=convert, default=None, choices=choices,
                               metavar=None if choices else f.name.upper(), help=help_text)


def config_from_args(args: argparse.Namespace):
    """(TrainConfig, the fields set explicitly): --config FILE (if given), overridden by command-line options."""
    from cnnlab.training.config import TrainConfig, read_json

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
