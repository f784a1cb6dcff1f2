"""Training, top to bottom: data → model → the epoch loop → the best weights → metrics and the run directory.

`train(cfg)` is what `cnnlab train` (and `cnnlab.train`) calls: it reads the data, applies the recipe, builds and
initialises the model, sizes the batch to a time budget, hands the epochs to `fit` (training/loop.py), then scores
the final weights on val and test and writes the run directory.  This module never prints.
"""
from __future__ import annotations

import dataclasses
import importlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from cnnlab.training import distributed
from cnnlab.runs import rundir as runs
from cnnlab.runs.checkpoint import legacy_options
from cnnlab.training.callbacks import CallbackList, RunInfo
from cnnlab.training.config import TrainConfig, mirror_tta_note
from cnnlab.data import Dataset
from cnnlab.data.splits import stratified_split  # noqa: F401  (re-exported for the Python API)
from cnnlab.training.device import cpu_count, pick_device, pick_precision, reuse_freed_memory, set_threads
from cnnlab.training.distributed import World
from cnnlab.runs.evaluate import Report
from cnnlab.models import DATA_INIT_SAMPLE, build, data_init_modules, init_from_data
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.loop import Callbacks, FitResult, fit, resizable_size
from cnnlab.training.optim import imbalance_note
from cnnlab.training.rebatch import fit_batch
from cnnlab.training.recipes import (apply_recipe, chosen_fields, default_run_notes, drop_mirrors,
                                     recipe_notes)
from cnnlab.training.resize import ramp_note
from cnnlab.training.steps import score_split, score_split_and_plain
from cnnlab.runs.init import start_weights
from cnnlab.data.rundata import prepare_data  # noqa: F401  (re-exported)
from cnnlab.data.rundata import load_for_training, load_sources, seed_everything, split_data

@dataclass
class RunResult:
    run_dir: Path
    fit: FitResult
    reports: dict[str, Report]  # split name → metrics of the final (best) model
    seconds: float
    main: bool = True  # False on the other ranks of a torchrun job, which print nothing


def start_at_targets(model: nn.Module, targets: torch.Tensor) -> None:
    """Start a regressor's output at the training targets' mean and spread: the last linear layer's bias set to
    their mean, its weights scaled by their standard deviation.  From a zero bias, an optimizer stepping ~lr per
    step would need thousands of steps just to reach targets in the tens (pixels, years, ...)."""
    last = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv1d)) and m.bias is not None]
    if not last:
        return
    with torch.no_grad():
        last[-1].weight.mul_(float(targets.float().std()) if len(targets) > 1 else 1.0)
        last[-1].bias.fill_(float(targets.float().mean()))


def _warm_imports() -> None:
    """Import what the run needs later while the data is being read: torch._dynamo, which the optimizers pull
    in on first use (~1.5 s), and matplotlib for the plots (~0.5 s).  Module imports are thread-safe."""
    for name in ("torch._dynamo", "cnnlab.explain.viz.plots"):
        try:
            importlib.import_module(name)
        except ImportError:  # the main thread reports a real problem when it imports the module itself
            pass


# ── the whole run ────────────────────────────────────────────────────────────────────────────────────────
def train(cfg: TrainConfig, callbacks: Callbacks = None, data: Dataset | None = None,
          resume_dir: Path | None = None, progress=None, explicit: set[str] | None = None,
          default_run: bool = False, started: float | None = None) -> RunResult:
    """Load the data, build the model, fit it, evaluate the best weights and write the run directory.

    With cfg.recipe, the recipe's values for this data replace the config's, except the fields named in
    `explicit` (default: those that differ from TrainConfig's defaults), which the user chose.  `default_run`:
    the user chose no length (no epochs, time or recipe): image data trains with its kind's time-budgeted
    default (recipes.DEFAULT_RUN); other data as configured.  `started`: the perf_counter() from which cfg.time counts (the `cnnlab`
    command passes its own start, so that a budget holds for the whole process); default: now.
    The final report scores the best weights in fp32, as `cnnlab evaluate` does, whatever the training precision.
    Started by torchrun, it trains with DistributedDataParallel; rank 0 alone writes and calls `callbacks`.
    """
    t0 = time.perf_counter() if started is None else min(started, time.perf_counter())
    from cnnlab.training.tensorboard import experiment_loggers

    # cfg.log's loggers, made before the data is read: a missing package stops the run at once
    callbacks = [*CallbackList(callbacks).callbacks, *experiment_loggers(cfg)]
    warm = threading.Thread(target=_warm_imports, daemon=True)
    warm.start()
    world, device = distributed.join(cfg.device)
    finished = False
    try:
        with reuse_freed_memory():  # decoding, training and scoring: freed tensors' memory is reused (device.py)
            result = _train(cfg, CallbackList(callbacks if world.main else None), data, resume_dir, progress,
                            explicit, world, device, t0, default_run, warm)
        finished = True
        return result
    finally:
        warm.join()  # never leave an import half done in a thread when the process exits
        distributed.leave(finished)


def _train(cfg: TrainConfig, callbacks: CallbackList, data: Dataset | None, resume_dir: Path | None, progress,
           explicit: set[str] | None, world: World, device: torch.device | None, t0: float,
           default_run: bool = False, warm: threading.Thread | None = None) -> RunResult:
    set_threads(cfg.threads or (max(1, cpu_count() // world.local_size) if world.distributed else None))
    user_tta = "tta" in explicit if explicit is not None else cfg.tta != TrainConfig().tta  # kept within a budget
    mirror_notes, chosen = [], chosen_fields(cfg) if explicit is None else explicit  # before the recipe fills in
    detail_notes = []
    if data is None:
        if resume_dir is None:  # enlarged images first: the recipe is the kind's at the size they are trained at
            cfg, data, detail_notes = load_for_training(
                cfg, chosen, progress, lambda compute: distributed.broadcast(compute() if world.main else None, world),
                recipe_run=cfg.recipe is not None or default_run)
            cfg = apply_recipe(cfg, data, explicit, default_run)
            cfg, mirror_notes = _drop_mirrors(cfg, data, chosen, world)
        else:  # as the run's config.json says, at the size it trained at
            data = load_sources(cfg, progress)
        data = split_data(data, cfg)
    elif resume_dir is None:
        cfg = apply_recipe(cfg, data, explicit, default_run)  # a resumed run's config holds its recipe's values
        cfg, mirror_notes = _drop_mirrors(cfg, data, chosen, world)
    seed_everything(cfg.seed + world.rank)  # ranks differ in dropout; the epoch order is shared (cfg.seed)
    classes = data.classes
    train_split, val_split = data["train"], data.splits.get("val")
    resume = runs.load_last(resume_dir) if resume_dir is not None else None
    if resume is not None:
        preprocess = Preprocess.from_state(resume["preprocess"])
    else:
        preprocess = Preprocess.fit(train_split.images, cfg.normalize)
    options = {**(legacy_options(resume) if resume is not None else {}), **data.meta.get("model_options", {})}
    model = build(cfg.model, data.input_shape, len(classes), **options)  # a resumed run: its cnnlab's defaults
    started = ""  # --pretrained / --init-from: existing weights (and ImageNet normalisation) first
    if resume is None:
        preprocess, started = start_weights(model, cfg, classes, preprocess, data.input_shape, progress)
    if resume is None and not started and data_init_modules(model):  # e.g. whitenet's patch-whitening layer
        init_from_data(model, preprocess(train_split.images[:DATA_INIT_SAMPLE]))
    if resume is None and train_split.regression:
        start_at_targets(model, train_split.labels)
    resizable_size(model, train_split, cfg)  # refuse a model that needs its own size before the run directory is made
    budget_notes, score_per_image = [], None
    if resume is None and cfg.time and cfg.min_steps:  # the batch (and final TTA) the budget holds, timed
        if warm is not None:
            warm.join()  # not while imports share the GIL
        val_size = len(val_split) if val_split is not None and val_split.labeled else 0
        test = data.splits.get("test")
        on = device or pick_device(cfg.device)
        cfg, budget_notes, score_per_image = fit_batch(
            cfg, model, train_split, val_size, len(test) if test is not None and test.labeled else 0, preprocess,
            len(classes), on, pick_precision(cfg.precision, on), t0, lambda value: distributed.broadcast(value, world),
            keep_tta=user_tta)
    if resume_dir is not None:
        run_dir = resume_dir
    else:  # rank 0 names it; the others learn the name
        run_dir = Path(distributed.broadcast(str(runs.new_run_dir(cfg, data.name)) if world.main else None, world))
    if world.main:
        runs.write_config(run_dir, cfg, data)
    notes = list(data.meta.get("notes", []))
    if resume is None:  # the default run's line first: it says how long the run will take and how to change it
        notes = default_run_notes(cfg, data, default_run) + notes + detail_notes + recipe_notes(cfg, data) \
            + mirror_notes
        notes += budget_notes
        if not train_split.regression and train_split.labeled:
            imbalance = imbalance_note(train_split.class_counts(len(classes)), classes, cfg.balance)
            notes += [imbalance] if imbalance else []
        mirror = mirror_tta_note(cfg.tta, cfg.augment) if len(data.input_shape) == 3 else None
        notes += [mirror] if mirror else []
        if cfg.progressive_resize and len(data.input_shape) == 3:
            ramp = ramp_note(None if cfg.time else cfg.epochs, tuple(data.input_shape[1:]), cfg.progressive_resize)
            notes += [ramp] if ramp else []
    elif cfg.time:
        notes.append(f"time budget {cfg.time}: the resumed run continues the {cfg.epochs} epochs it planned")
    callbacks.on_run_begin(RunInfo(data.name, data.source, tuple(data.input_shape), list(classes),
                                   {k: len(v) for k, v in data.splits.items()}, str(run_dir), preprocess.describe(),
                                   cfg.model, notes, started or ""))

    if cfg.time and warm is not None:  # a time budget times the first steps: not while imports share the GIL
        warm.join()  # (mnist-2conv, 500 images: 50 ms per step of epoch 1 beside the imports, 14 ms after)
    result = fit(model, train_split, val_split, cfg, preprocess, classes, run_dir=run_dir, callbacks=callbacks,
                 resume=resume, input_meta=data.meta, test=data.splits.get("test"), world=world, device=device,
                 started=t0, score_per_image=score_per_image)
    if result.epochs != cfg.epochs:  # a time budget's plan: what config.json (already rewritten), metrics record
        cfg = dataclasses.replace(cfg, epochs=result.epochs)

    reports = final_reports(model, data, preprocess, cfg, device or pick_device(cfg.device), world)
    if result.best_value is None and "val" in reports and result.monitor.startswith("val_"):
        # a one-epoch budget's only epoch is scored by the final report alone (TimeBudget.scores_epoch)
        result.best_value = reports["val"].metric(result.monitor[len("val_"):])
    seconds = time.perf_counter() - t0
    if world.main:
        runs.write_results(run_dir, result, reports, cfg, seconds)
    run = RunResult(run_dir, result, reports, seconds, world.main)
    callbacks.on_run_end(run)
    return run


def _drop_mirrors(cfg: TrainConfig, data: Dataset, chosen: set[str], world: World) -> tuple[TrainConfig, list[str]]:
    """recipes.drop_mirrors decided on rank 0 for every rank (a ratio at the threshold must not split the ranks'
    TTA, whose scoring they run together)."""
    return distributed.broadcast(drop_mirrors(cfg, data, chosen) if world.main else None, world)


def final_reports(model: nn.Module, data: Dataset, preprocess: Preprocess, cfg: TrainConfig, device: torch.device,
                  world: World) -> dict[str, Report]:
    """The metrics of the final weights on val and test (with and without cfg.tta).

    Scored in fp32 whatever the training precision, as `cnnlab evaluate` scores the saved weights: one figure per
    model (bf16 logits moved val_acc by ~0.002 on FER2013; the per-epoch validation that picks the best epoch
    stays in the training precision, for speed).
    """
    reports = {}
    for split in ("val", "test"):
        if split in data and data[split].labeled and len(data[split]):
            if cfg.tta:  # the TTA's first view is the image itself: its logits give the figure without TTA
                reports[split], reports[f"{split}_no_tta"] = score_split_and_plain(
                    model, data[split], preprocess, data.classes, cfg, device, None, cfg.tta, world)
            else:
                reports[split] = score_split(model, data[split], preprocess, data.classes, cfg, device, None, None,
                                             world)
    return reports
