"""The runs a server shows: found under the runs directory or named on the command line, looked up by a safe
name (never by a path from a request), with their models loaded once and kept warm."""
from __future__ import annotations

import csv
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from cnnlab.runs.rundir import LoadedRun, load_run, resolve_checkpoint

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")  # what a run name in a URL may look like
WARM_MODELS = 6  # loaded models kept in memory (least recently used dropped first)


class UnknownRun(LookupError):
    """A run name that is malformed or not one of the server's runs."""


@dataclass
class RunEntry:
    """A run the server knows: its safe name and where it lives."""

    name: str
    path: Path  # the run directory
    checkpoint: Path | None  # a .pt named on the command line; None: the directory's best.pt / last.pt


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_history(path: Path) -> list[dict]:
    """history.csv as a list of rows with numbers (empty cells dropped)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return []
    out = []
    for row in rows:
        parsed = {}
        for key, value in row.items():
            if value not in (None, ""):
                try:
                    parsed[key] = float(value)
                except ValueError:
                    parsed[key] = value
        out.append(parsed)
    return out


def run_kind(input_shape, classes: list[str], dataset: str = "", input_meta: dict | None = None) -> str:
    """'digits' (draw on the canvas), 'faces' (find faces first), 'images', or 'other' (not image input):
    the run's modality decides (see Modality.lab_kind)."""
    from cnnlab.modalities import modality_of

    return modality_of(input_meta or {}).lab_kind(input_shape, classes, dataset, input_meta)


class Registry:
    """Runs by name: those under `runs_dir` (rescanned on each listing) and those given explicitly."""

    def __init__(self, runs_dir: str | Path, explicit: list[str | Path] = ()):
        self.runs_dir = Path(runs_dir)
        self.explicit = [Path(p) for p in explicit]
        self._lock = threading.Lock()
        self._models: OrderedDict[tuple[str, float], LoadedRun] = OrderedDict()
        self.entries: dict[str, RunEntry] = {}
        self.scan()

    def scan(self) -> dict[str, RunEntry]:
        """Find the runs again (a training job may have added one)."""
        found: dict[str, RunEntry] = {}
        seen: set[Path] = set()

        def add(path: Path, checkpoint: Path | None) -> None:
            key = (checkpoint or path).resolve()
            if key in seen:
                return
            seen.add(key)
            base = re.sub(r"[^A-Za-z0-9._-]+", "-", path.name).strip("-.") or "run"
            if checkpoint is not None and checkpoint.name not in ("best.pt", "last.pt"):
                base = f"{base}-{checkpoint.stem}"
            name, i = base, 1
            while name in found:
                i += 1
                name = f"{base}-{i}"
            found[name] = RunEntry(name, path, checkpoint)

        for p in self.explicit:
            if p.suffix == ".pt" and p.is_file():
                add(p.parent, p)
            elif p.is_dir():
                add(p, None)
        if self.runs_dir.is_dir():
            for p in sorted(self.runs_dir.iterdir()):
                if p.is_dir() and ((p / "config.json").is_file() or (p / "best.pt").is_file()
                                   or (p / "last.pt").is_file()):
                    add(p, None)
        with self._lock:
            self.entries = found
        return found

    def get(self, name: str) -> RunEntry:
        """The run called `name`; UnknownRun when the name is malformed or unknown."""
        if not isinstance(name, str) or not NAME.match(name) or ".." in name:
            raise UnknownRun(f"{name!r} is not a valid run name (letters, digits, '.', '_' and '-' only)")
        entry = self.entries.get(name) or self.scan().get(name)
        if entry is None:
            known = ", ".join(sorted(self.entries)) or "none"
            raise UnknownRun(f"no run called {name!r} (known runs: {known})")
        return entry

    def model(self, name: str) -> LoadedRun:
        """The run's model, loaded on first use and kept warm; reloaded when its checkpoint file changes."""
        entry = self.get(name)
        file = entry.checkpoint or resolve_checkpoint(entry.path)
        key = (str(file), file.stat().st_mtime if file.exists() else 0.0)
        with self._lock:
            run = self._models.get(key)
            if run is not None:
                self._models.move_to_end(key)
                return run
        run = load_run(file)
        with self._lock:
            for old in [k for k in self._models if k[0] == key[0]]:
                del self._models[old]
            self._models[key] = run
            while len(self._models) > WARM_MODELS:
                self._models.popitem(last=False)
        return run

    def data_sources(self) -> dict[str, str | None]:
        """The `data` each run was trained on (what the page may train on again) → the data_dir it used."""
        found: dict[str, str | None] = {}
        for entry in self.entries.values():
            config = _read_json(entry.path / "config.json") or {}
            if config.get("data"):
                found[str(config["data"])] = found.get(str(config["data"])) or config.get("data_dir")
        return found

    def warm(self, limit: int = WARM_MODELS) -> list[str]:
        """Load the models of up to `limit` runs (digit and face runs first) and run each once, so the first
        request does not pay for loading; returns the names warmed.  Runs that fail to load are skipped."""
        import torch

        summaries = [self.summary(e) for e in self.entries.values()]
        order = {"digits": 0, "faces": 1, "images": 2}
        chosen = sorted((s for s in summaries if s["has_model"] and s["kind"] in order),
                        key=lambda s: order[s["kind"]])[:limit]
        warmed = []
        for s in chosen:
            try:
                run = self.model(s["name"])
                with torch.inference_mode():
                    run.model(run.preprocess(torch.zeros((1, *run.input_shape), dtype=torch.uint8)))
                warmed.append(s["name"])
            except Exception:  # a broken run is reported when it is asked for, not here
                continue
        return warmed

    def summary(self, entry: RunEntry) -> dict:
        """What the run list shows: data, model, shape, classes, kind, best metric and test accuracy."""
        config = _read_json(entry.path / "config.json") or {}
        dataset = config.get("_dataset", {})
        if not config:  # a bare checkpoint: what the list needs is inside it
            try:
                run = self.model(entry.name)
                config = run.config.to_dict()
                dataset = {"name": Path(str(run.config.data)).name, "input_shape": list(run.input_shape),
                           "classes": run.classes}
            except Exception:  # unreadable: listed without details; asking for it names the problem
                pass
        metrics = _read_json(entry.path / "metrics.json")
        history = read_history(entry.path / "history.csv")
        shape = dataset.get("input_shape")
        classes = dataset.get("classes") or []
        has_model = entry.checkpoint is not None or any((entry.path / n).is_file() for n in ("best.pt", "last.pt"))
        status = "finished" if metrics else "incomplete"  # no metrics.json: still training, stopped or failed
        test = (metrics or {}).get("test") or (metrics or {}).get("val") or {}
        return {"name": entry.name, "dataset": dataset.get("name") or config.get("data"),
                "model": config.get("model"), "input_shape": shape, "classes": classes,
                "kind": run_kind(shape, classes, str(dataset.get("name") or config.get("data") or "")),
                "status": status, "epochs_run": len(history), "epochs": config.get("epochs"),
                "best": (metrics or {}).get("best"),
                "test_acc": test.get("acc"), "test_split": "test" if (metrics or {}).get("test") else
                ("val" if test else None), "seconds": (metrics or {}).get("seconds"), "has_model": has_model}

    def details(self, name: str) -> dict:
        """Everything about one run: the summary, its configuration, history (curves) and metrics."""
        entry = self.get(name)
        config = _read_json(entry.path / "config.json") or {}
        metrics = _read_json(entry.path / "metrics.json") or {}
        return {**self.summary(entry), "config": {k: v for k, v in config.items() if not k.startswith("_")},
                "splits": config.get("_dataset", {}).get("splits"), "history": read_history(entry.path /
                                                                                             "history.csv"),
                "metrics": metrics}
