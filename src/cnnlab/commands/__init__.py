"""Subcommands beyond the core ones in cli.py.  Each module has `register(sub)` that adds its parsers;
each parser sets `func` to a handler taking the parsed args and returning an exit code."""
from __future__ import annotations

import importlib

MODULES: list[str] = ["bench", "export", "inspect", "serve", "ensemble"]  # module names under cnnlab.commands, in the order their commands are listed


def register_all(sub) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
