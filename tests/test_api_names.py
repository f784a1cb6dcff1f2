"""The package's public names mean one thing whatever was imported before: no submodule import replaces them."""
from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import cnnlab

# what each public name must be, checked through the package's attributes
KINDS = {"Classifier": type, "TrainConfig": type, "Dataset": type, "Split": type, "DataError": type,
         "History": type, "Report": type, "train": "function", "load_data": "function", "load_run": "function",
         "build": "function", "model_summary": "function", "show_batch": "function", "save_figure": "function"}


def submodules() -> list[str]:
    """Every module and package under cnnlab (the CLI's __main__ excluded: importing it runs the CLI)."""
    return [m.name for m in pkgutil.walk_packages(cnnlab.__path__, "cnnlab.") if not m.name.endswith("__main__")]


def check_kinds() -> None:
    for name in cnnlab.__all__:
        value = getattr(cnnlab, name)
        kind = KINDS[name]
        assert isinstance(value, type) if kind is type else callable(value) and not isinstance(value, type), name


def test_every_public_name_is_listed_and_of_its_kind():
    assert set(cnnlab.__all__) == set(KINDS)
    check_kinds()


def test_no_public_name_is_a_submodule_name():
    children = {name.split(".")[1] for name in submodules()}
    assert not children & set(cnnlab.__all__)


def test_importing_every_submodule_changes_no_public_name():
    before = {name: getattr(cnnlab, name) for name in cnnlab.__all__}
    for name in submodules():
        try:
            importlib.import_module(name)
        except ImportError as exc:  # an optional extra (e.g. the web lab's FastAPI) not installed
            if "cnnlab" in str(exc):
                raise
    assert {name: getattr(cnnlab, name) for name in cnnlab.__all__} == before
    assert all(getattr(cnnlab, name) is value for name, value in before.items())
    check_kinds()


@pytest.mark.parametrize("imports", [
    ["cnnlab.api", "cnnlab.training", "cnnlab.training.pipeline", "cnnlab.models.summary", "cnnlab.runs.history"],
    ["cnnlab.training.loop", "cnnlab.explain", "cnnlab.data", "cnnlab.api"],
])
def test_public_names_in_a_fresh_process_in_any_import_order(imports):
    """Import some modules first, then use the names as the README does (test_display.py trains with
    cnnlab.train(TrainConfig(...)) after `import cnnlab.api`)."""
    code = f"""
import importlib, inspect
for name in {imports!r}:
    importlib.import_module(name)
import cnnlab
from cnnlab import TrainConfig
assert inspect.isfunction(cnnlab.train), cnnlab.train
assert inspect.isclass(cnnlab.Classifier) and inspect.isclass(cnnlab.Dataset)
assert cnnlab.train is importlib.import_module("cnnlab.training.pipeline").train
cfg = TrainConfig(data="mnist-mini", model="dnn", limit=100, epochs=1, runs_dir="{{}}")
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
