"""Time-to-accuracy benchmarks: each entry runs as a fresh process, from start to final test accuracy,
next to a reference measured in the same run.  Results go to bench/results/<task>.json and <task>.md.
"""
from __future__ import annotations

import csv
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.runs.checkpoint import write_json, write_text


@dataclass(frozen=True)
class Entry:
    """One contender: a `cnnlab train` command line, or another program that prints the same result lines."""

    name: str
    train_args: tuple[str, ...] = ()  # arguments after `cnnlab train`
    command: tuple[str, ...] = ()  # a whole command instead (e.g. the Keras script)
    reference: bool = False  # ratios are stated against this entry
    needs: str = ""  # a Python module that must be importable by `python` for this entry to run
    python: str = ""  # interpreter for `command` entries (default: this one)


@dataclass(frozen=True)
class Task:
    data: str
    thresholds: tuple[float, ...]
    entries: tuple[Entry, ...]
    smoke_args: tuple[str, ...] = ("--limit", "300", "--epochs", "1")  # a few hundred images: CI keeps it alive
    course: dict = field(default_factory=dict)  # entry → (train acc, validation acc) the course reports
    ensemble: tuple[str, ...] = ()  # entries whose runs `cnnlab ensemble` averages into one more row
    # score the test split after every epoch (--track-test) for the time-to-accuracy columns; False: they come from
    # the validation split the run scores anyway, so that the wall time is that of the user's command (on FER2013
    # the per-epoch PublicTest pass added ~11 s to each of whitenet's ~100-150 s epochs: 14-24 s outside training
    # per epoch with it, 4-8 s without)
    track_test: bool = True


SLIDE_MNIST = ("--model", "mnist-2conv", "--optimizer", "adam", "--batch-size", "128", "--epochs", "12",
               "--schedule", "constant", "--normalize", "none", "--val-split", "0")
KERAS_PYTHON = Path(".venv-keras/bin/python")
RESNET20_CIFAR = ("--model", "resnet20", "--epochs", "15", "--batch-size", "128", "--optimizer", "sgd", "--lr", "0.1",
                  "--nesterov", "--weight-decay", "5e-4", "--label-smoothing", "0.1", "--schedule", "onecycle",
                  "--augment", "crop=4,flip=h", "--tta", "flip")

# `cnnlab train DATA --time T` (the recipe the default run picks for the kind and budget, fitted to it) at 1 and 3
# minutes, and each recipe within 10 (`--time 10m` alone is one of the two: recipes.BEST_FROM decides which): the
# time-to-accuracy curve of the untuned default.  Smoke runs: 10 s on 300 images.
BUDGETS = (Entry("1 min", ("--time", "1m")), Entry("3 min", ("--time", "3m"), reference=True),
           Entry("fast, 10 min", ("--recipe", "fast", "--time", "10m")),
           Entry("best, 10 min", ("--recipe", "best", "--time", "10m")))
BUDGET_SMOKE = ("--limit", "300", "--time", "10s")

TASKS: dict[str, Task] = {
    "mnist": Task("mnist", (0.99, 0.992, 0.993, 0.995, 0.996), (
        Entry("fast", ("--recipe", "fast")),
        Entry("slide", SLIDE_MNIST, reference=True),
        Entry("keras", command=("bench/keras_mnist.py",), needs="keras", python=str(KERAS_PYTHON)),
    )),
    "mnist-time": Task("mnist", (0.99, 0.993, 0.995, 0.996), BUDGETS, smoke_args=BUDGET_SMOKE),
    "mnist-best": Task("mnist", (0.993, 0.995, 0.996, 0.997), (
        Entry("best", ("--recipe", "best")),
        Entry("slide", SLIDE_MNIST, reference=True),
    )),
    # five digitnet members on all 60,000 images, then their average (the whole task: 58.5 minutes on 2 cores)
    "mnist-ensemble": Task("mnist", (0.995, 0.996, 0.997), (
        Entry("slide", SLIDE_MNIST, reference=True),
        *(Entry(f"digitnet s{seed}", ("--recipe", "best", "--epochs", "20", "--val-split", "0",
                                      "--seed", str(seed))) for seed in range(5)),
    ), ensemble=tuple(f"digitnet s{seed}" for seed in range(5))),
    "fashion-mnist": Task("fashion-mnist", (0.90, 0.92, 0.93), (
        Entry("fast", ("--recipe", "fast")),
        Entry("default", ("--epochs", "5"), reference=True),  # TrainConfig's defaults (cnn, 5 epochs)
    )),
    # CIFAR-10's 50,000 training images as JPEGs; the validation split is a stratified 10% of them (seed 0), the
    # score of every row unless the folder holds a test/ split.  Reference: the colour recipe before whitenet.
    "cifar10": Task("cifar10-jpg", (0.85, 0.90, 0.93, 0.94), (
        Entry("fast", ("--recipe", "fast")),
        Entry("resnet20 (previous fast)", RESNET20_CIFAR, reference=True),
    ), smoke_args=("--limit", "500", "--epochs", "1")),
    "cifar10-best": Task("cifar10-jpg", (0.85, 0.90, 0.93, 0.94), (
        Entry("best", ("--recipe", "best")),
        Entry("fast", ("--recipe", "fast"), reference=True),
    ), smoke_args=("--limit", "500", "--epochs", "1")),
    "fer2013-time": Task("fer2013", (0.55, 0.60, 0.65, 0.68), BUDGETS, smoke_args=BUDGET_SMOKE, track_test=False),
    "fer2013": Task("fer2013", (0.60, 0.65, 0.68, 0.70), (
        Entry("fer", ("--recipe", "best")),
        Entry("default", ("--epochs", "5"), reference=True),  # TrainConfig's defaults (cnn, 5 epochs)
    ), track_test=False),
    # the course's three FER2013 set-ups (homework slides; they give no epoch count: 10 each here), then
    # cnnlab's fast recipe and the case-study models, 10 epochs each (the whole table: 87 minutes on 2 cores)
    "fer-baselines": Task("fer2013", (0.45, 0.55, 0.60, 0.65), (
        Entry("simple DNN", ("--model", "dnn", "--normalize", "featurewise", "--schedule", "constant",
                             "--epochs", "10"), reference=True),
        Entry("simple CNN", ("--model", "cnn", "--schedule", "constant", "--epochs", "10")),
        Entry("CNN + aug", ("--model", "cnn", "--schedule", "constant", "--augment",
                            "rotation=20,shift=0.2,flip=h", "--normalize", "featurewise", "--epochs", "10")),
        Entry("cnnlab fast", ("--recipe", "fast")),
        *(Entry(model, ("--model", model, "--epochs", "10"))
          for model in ("lenet5", "alexnet", "vgg11", "googlenet", "resnet20")),
    ), course={"simple DNN": (0.64, 0.43), "simple CNN": (0.98, 0.45), "CNN + aug": (0.54, 0.59)}),
}


@dataclass
class Measurement:
    """One run of one entry."""

    entry: str
    wall_seconds: float
    test_acc: float | None
    epochs: list[dict] = field(default_factory=list)  # {"epoch", "test_acc", "seconds" since process start}
    train_images_per_s: float | None = None
    infer_images_per_s: float | None = None
    peak_mb: float | None = None
    run_dir: str | None = None
    train_acc: float | None = None  # the last epoch's running training accuracy
    val_acc: float | None = None

    def time_to(self, threshold: float) -> float | None:
        """Seconds from process start until an epoch first reached `threshold` accuracy: on the test split, or on
        the validation split where the task does not score the test split after each epoch (Task.track_test)."""
        for row in self.epochs:
            if row.get("test_acc") is not None and row["test_acc"] >= threshold:
                return row["seconds"]
        return None


def cpu_bf16(cpuinfo: str | None = None) -> str:
    """What the CPU has for bf16 (the recipes' speed depends on it 3-5x, README "bf16 where it pays") and the
    precision `--precision auto` trains in there: e.g. 'AVX-512 BF16, no AMX: fp32'."""
    from cnnlab.training.device import cpu_bf16_pays, read_cpuinfo

    cpuinfo = read_cpuinfo() if cpuinfo is None else cpuinfo
    flags = set(cpuinfo.split())
    has = "AMX" if "amx_bf16" in flags else "AVX-512 BF16, no AMX" if "avx512_bf16" in flags else "no native bf16"
    return f"{has}: {'bf16' if cpu_bf16_pays(cpuinfo) else 'fp32'}"


def machine() -> dict:
    """CPU model, cores, torch version, GPU if any."""
    import torch

    from cnnlab.training.device import read_cpuinfo

    cpuinfo = read_cpuinfo()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")]
    cpu = models[0] if models else platform.processor() or platform.machine()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {"cpu": cpu, "cores": cores, "torch": torch.__version__, "python": platform.python_version(),
            "date": time.strftime("%Y-%m-%d"), "cpu_bf16": cpu_bf16(cpuinfo)}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def available(entry: Entry) -> bool:
    """False when the entry needs an interpreter or module that is not installed."""
    if not entry.needs:
        return True
    python = entry.python or sys.executable
    if not Path(python).exists():
        return False
    probe = subprocess.run([python, "-c", f"import {entry.needs}"], capture_output=True)
    return probe.returncode == 0


def _run_process(name: str, cmd: list[str], env: dict) -> tuple[dict[str, str], str, float | None, float, float]:
    """Run cmd for entry `name`; return (its result lines, its stdout+stderr, its final accuracy or None,
    wall seconds, peak resident MB of the child); a clear error with the output's tail if it fails."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.time()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.time() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read()
    if code != 0:
        raise RuntimeError(f"{name}: `{' '.join(cmd)}` exited with {code}:\n{output[-2000:]}")
    lines = result_lines(output)
    final = lines.get("test_acc") or lines.get("val_acc")  # FER2013's test split is PublicTest, never tuned on
    return lines, output, float(final) if final else None, wall, usage.ru_maxrss / 1024


def result_lines(text: str) -> dict[str, str]:
    """The 'key value' lines a run prints at its end (run_dir, test_acc, ...)."""
    found = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key and value and " " not in value.strip():
            found[key] = value.strip()
    return found


def run_entry(entry: Entry, task: Task, extra: list[str], smoke: bool, runs_dir: Path, start_env: dict) -> Measurement:
    """Run one entry once as a fresh process and collect its figures."""
    if entry.command:
        cmd = [entry.python or sys.executable, *entry.command] + (["--limit", "300", "--epochs", "1"] if smoke else [])
    else:
        cmd = [sys.executable, "-m", "cnnlab", "train", task.data, *entry.train_args,
               *(("--track-test",) if task.track_test else ()), "--runs-dir", str(runs_dir), "--quiet", *extra,
               *(task.smoke_args if smoke else ())]
    start = time.time()
    lines, output, final, wall, peak = _run_process(entry.name, cmd, start_env)
    m = Measurement(entry.name, wall, final, peak_mb=peak, run_dir=lines.get("run_dir"))
    if m.run_dir:  # cnnlab run: per-epoch accuracy and wall-clock time from the history
        with open(Path(m.run_dir) / "history.csv") as fh:
            rows = list(csv.DictReader(fh))
        m.epochs = [{"epoch": int(r["epoch"]), "test_acc": float(r.get("test_acc") or r.get("val_acc") or "nan"),
                     "seconds": round(float(r["time"]) - start, 2)} for r in rows if r.get("time")]
        if m.epochs and math.isnan(m.epochs[-1]["test_acc"]) and final is not None:
            # a one-epoch time budget does not score its epoch (the final report does): that report, at the end
            m.epochs[-1].update(test_acc=final, seconds=round(wall, 2))
        m.train_acc = float(rows[-1]["train_acc"]) if rows else None
        m.val_acc = float(lines["val_acc"]) if "val_acc" in lines else None
        speeds = [float(r["train_images_per_s"]) for r in rows if r.get("train_images_per_s")]
        m.train_images_per_s = statistics.median(speeds) if speeds else None
        m.infer_images_per_s = inference_speed(Path(m.run_dir), task.data, extra)
    else:  # another program: `epoch N test_acc X seconds T` lines
        for line in output.splitlines():
            parts = line.split()
            if len(parts) == 6 and parts[0] == "epoch" and parts[2] == "test_acc":
                m.epochs.append({"epoch": int(parts[1]), "test_acc": float(parts[3]), "seconds": float(parts[5])})
    return m


def inference_speed(run_dir: Path, data: str, extra: list[str], repeats: int = 3) -> float:
    """Test-split images per second of the run's best model (min time over repeats)."""
    from cnnlab.runs.evaluate import predict_logits
    from cnnlab.runs.rundir import load_run
    from cnnlab.data.rundata import prepare_data

    run = load_run(run_dir)
    split = prepare_data(run.config)
    images = (split.splits.get("test") or split["val"]).images
    from cnnlab.training.device import pick_device, pick_precision

    device = pick_device(run.config.device)
    dtype = pick_precision(run.config.precision, device)
    run.model.to(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        predict_logits(run.model, images, run.preprocess, device, dtype, run.config.eval_batch_size,
                       run.config.channels_last, run.config.tta)
        best = min(best, time.perf_counter() - t0)
    return len(images) / best


def run_task(name: str, repeats: int = 1, smoke: bool = False, extra: list[str] | None = None,
             only: list[str] | None = None, runs_dir: Path = Path("runs/bench"), report=lambda msg: None) -> dict:
    """Run every available entry of task `name` `repeats` times; return the results dict."""
    task = TASKS[name]
    env = dict(os.environ)
    results = {"task": name, "data": task.data, "smoke": smoke, "repeats": repeats, "machine": machine(),
               "thresholds": list(task.thresholds), "course": task.course, "track_test": task.track_test,
               "entries": {}}
    for entry in task.entries:
        if only and entry.name not in only:
            continue
        if not available(entry):
            report(f"{entry.name}: skipped ({entry.needs} not installed for {entry.python or sys.executable})")
            continue
        runs = []
        for i in range(repeats):
            report(f"{entry.name}: run {i + 1}/{repeats} ...")
            m = run_entry(entry, task, extra or [], smoke, runs_dir, env)
            report(f"{entry.name}: test_acc {m.test_acc} in {m.wall_seconds:.1f} s")
            runs.append(m)
        results["entries"][entry.name] = {"reference": entry.reference,
                                          "args": list(entry.train_args or entry.command),
                                          "runs": [m.__dict__ for m in runs]}
    members = [name for name in task.ensemble if name in results["entries"]]
    if len(members) >= 2:
        name = f"ensemble of {len(members)}"
        runs = []
        for i in range(repeats):
            report(f"{name}: run {i + 1}/{repeats} ...")
            m = run_ensemble(name, [Measurement(**results["entries"][e]["runs"][i]) for e in members], runs_dir, env)
            report(f"{name}: test_acc {m.test_acc} ({m.wall_seconds:.1f} s with its members' training)")
            runs.append(m)
        results["entries"][name] = {"reference": False, "args": members, "runs": [m.__dict__ for m in runs]}
    return results


def run_ensemble(name: str, members: list[Measurement], runs_dir: Path, start_env: dict) -> Measurement:
    """`cnnlab ensemble` over the members' runs as a fresh process; its wall time includes the members' own."""
    out = runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{name.replace(' ', '-')}"
    cmd = [sys.executable, "-m", "cnnlab", "ensemble", *(m.run_dir for m in members), "--save", str(out)]
    _, _, final, wall, peak = _run_process(name, cmd, start_env)
    return Measurement(name, wall + sum(m.wall_seconds for m in members), final,
                       peak_mb=max([peak] + [m.peak_mb or 0 for m in members]), run_dir=str(out))


def summarize(results: dict) -> list[dict]:
    """One row per entry: min/median wall, time to each threshold, accuracy, speeds, ratio to the reference."""
    rows = []
    ref_median = None
    for name, entry in results["entries"].items():
        runs = [Measurement(**r) for r in entry["runs"]]
        walls = [m.wall_seconds for m in runs]
        accs = [m.test_acc for m in runs if m.test_acc is not None]
        row = {"entry": name, "reference": entry["reference"], "n": len(runs), "wall_min": min(walls),
               "wall_median": statistics.median(walls),
               "acc_mean": statistics.mean(accs) if accs else None,
               "acc_std": statistics.pstdev(accs) if len(accs) > 1 else 0.0,
               "train_ips": _median([m.train_images_per_s for m in runs]),
               "infer_ips": _median([m.infer_images_per_s for m in runs]),
               "peak_mb": max(m.peak_mb or 0 for m in runs),
               "train_acc": _median([m.train_acc for m in runs]), "val_acc": _median([m.val_acc for m in runs]),
               "epochs": _median([max((e["epoch"] for e in m.epochs), default=None) for m in runs]),
               "to": {t: _median([m.time_to(t) for m in runs], all_needed=True) for t in results["thresholds"]}}
        if entry["reference"]:
            ref_median = row["wall_median"]
        rows.append(row)
    for row in rows:
        row["ratio"] = row["wall_median"] / ref_median if ref_median else None
    return rows


def _median(values: list, all_needed: bool = False):
    known = [v for v in values if v is not None]
    if not known or (all_needed and len(known) < len(values)):
        return None
    return statistics.median(known)


def markdown(results: dict) -> str:
    """The results as a markdown table with the machine underneath."""
    rows = summarize(results)
    ths = results["thresholds"]
    course = results.get("course") or {}
    head = ["entry", "runs", "wall s min / median", "× reference"] + [f"s to {t:.1%}" for t in ths] + \
        ["final acc", "train img/s", "infer img/s", "peak MB"]
    if course:
        head += ["epochs", "train acc", "val acc", "course train / val"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ratio = "reference" if r["reference"] else (f"{r['ratio']:.2f}×" if r["ratio"] else "–")
        acc = "–" if r["acc_mean"] is None else f"{r['acc_mean']:.4f}" + (f" ± {r['acc_std']:.4f}" if r["n"] > 1 else "")
        cells = [r["entry"], str(r["n"]), f"{r['wall_min']:.1f} / {r['wall_median']:.1f}", ratio]
        cells += ["–" if r["to"][t] is None else f"{r['to'][t]:.1f}" for t in ths]
        cells += [acc, _fmt(r["train_ips"]), _fmt(r["infer_ips"]), f"{r['peak_mb']:.0f}"]
        if course:
            theirs = course.get(r["entry"])
            cells += ["–" if r["epochs"] is None else str(r["epochs"]), _pct(r["train_acc"]), _pct(r["val_acc"]),
                      f"{theirs[0]:.0%} / {theirs[1]:.0%}" if theirs else "–"]
        lines.append("| " + " | ".join(cells) + " |")
    m = results["machine"]
    lines.append("")
    bf16 = f" ({m['cpu_bf16']})" if m.get("cpu_bf16") and "gpu" not in m else ""  # results before: none
    lines.append(f"{results['task']} ({results['data']}{', smoke run' if results['smoke'] else ''}) on {m['cpu']}"
                 f"{bf16}, {m['cores']} cores, torch {m['torch']}, {m['date']}"
                 + (f", GPU {m['gpu']}" if 'gpu' in m else "")
                 + ". Final acc: the test split (FER2013: PublicTest, never tuned on), else the validation split."
                 + ("" if results.get("track_test", True) else " s to X%: when an epoch's validation accuracy "
                    "first reached X (the test split is scored once, at the end)."))
    return "\n".join(lines) + "\n"


def _pct(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def _fmt(value) -> str:
    return "–" if value is None else f"{value:,.0f}"


def save(results: dict, out_dir: Path) -> tuple[Path, Path]:
    """bench/results/<task>.json and .md (atomic writes)."""
    name = results["task"] + ("-smoke" if results["smoke"] else "")
    json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
    write_json(json_path, results)
    write_text(md_path, markdown(results))
    return json_path, md_path


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())
