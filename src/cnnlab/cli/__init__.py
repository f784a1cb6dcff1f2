"""The `cnnlab` command, the only argparse code: `cli/<command>.py` parses one command group, calls the library
and prints.  No computing happens here.

Each module in COMMANDS has `register(sub)`, which adds its parsers; each parser sets `func` to a handler that
takes the parsed arguments and returns an exit code.  A new command is a new module listed here.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import sys
import time

from cnnlab import __version__

# modules under cnnlab.cli, in the order their commands are listed by `cnnlab --help`
COMMANDS: list[str] = ["train", "lr_find", "models", "data", "bench", "export", "inspect", "serve", "ensemble"]


def build_parser() -> argparse.ArgumentParser:
    """The `cnnlab` parser with every command's subparser."""
    parser = argparse.ArgumentParser(prog="cnnlab", description="Train, inspect and use CNN classifiers.")
    parser.add_argument("--version", action="version", version=f"cnnlab {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None, started: float | None = None) -> int:
    """Run one command; `started`: the perf_counter() at which the command began (default: now), from which
    `train --time` counts its budget."""
    started = time.perf_counter() if started is None else started
    from cnnlab.runs.checkpoint import CheckpointError
    from cnnlab.data import DataError

    args = build_parser().parse_args(argv)
    args.started = started
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


def run() -> None:
    """The console entry point: main(), then exit without the interpreter's last garbage collection pass.

    At exit CPython collects cycles among every live object; with torch loaded that is ~10^5 objects and
    0.4-0.9 s of a short command's wall time.  gc.freeze() moves them out of the collector's reach (they are
    all freed with the process anyway); main() itself leaves the collector alone, so in-process callers
    (tests, notebooks) keep it.
    """
    code = main(started=time.perf_counter())
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
