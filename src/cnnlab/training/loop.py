"""Training, top to bottom: data → model → the epoch loop → the best weights → metrics and the run directory.

`train(cfg)` is what `cnnlab train` calls.  `fit(...)` is the loop itself: whole splits stay in memory
as uint8 tensors, each batch is picked by indexing, converted to float and normalised on the fly.
What changes as it trains lives in one TrainState (training/state.py); progress goes to typed callbacks
(training/callbacks.py); this module never prints.
"""
from __future__ import annotations

import dataclasses
import importlib
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnnlab.training import distributed
from cnnlab.runs import rundir as runs
from cnnlab.runs.checkpoint import legacy_options, load_checkpoint, write_json
from cnnlab.training.budget import TimeBudget
from cnnlab.training.callbacks import Callback, CallbackList, EarlyStopping, RunInfo
from cnnlab.training.config import TrainConfig, epoch_tta, mirror_tta_note
from cnnlab.data import Dataset, Split
from cnnlab.data.splits import stratified_split  # noqa: F401  (re-exported for the Python API)
from cnnlab.training.device import (autocast, cpu_count, pick_device, pick_precision, reuse_freed_memory,
                                    set_threads)
from cnnlab.training.distributed import SINGLE, World
from cnnlab.runs.evaluate import Report
from cnnlab.models import DATA_INIT_SAMPLE, build, data_init_modules, init_from_data
from cnnlab.training.optim import regularization
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.resize import check_resizable, epoch_cost, epoch_size, ramp_note
from cnnlab.training.rebatch import fit_batch, scoring_seconds
from cnnlab.training.recipes import apply_recipe, default_run_notes, recipe_notes
from cnnlab.training.state import TrainState
from cnnlab.training.steps import (Batches, EpochMeter, NonFiniteLoss, forward_backward, make_augmenter, make_batch,
                                   make_loss, non_finite_message, score_split, score_split_and_plain)
from cnnlab.runs.init import start_weights
from cnnlab.data.rundata import load_sources, prepare_data, seed_everything, split_data  # noqa: F401  (prepare_data: re-exported)

LOG_EVERY = 10  # steps between on_batch_end calls (each costs a device sync)
TIMED_IMAGES = 256  # images scored (twice) to time the final scoring again at a cut epoch's first revision
Callbacks = Callback | list[Callback] | tuple[Callback, ...] | None


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch
    best_epoch: int = 0
    best_value: float | None = None
    stopped_early: bool = False
    monitor: str = "val_acc"  # what picked the best epoch (val_loss for regression)
    epochs: int = 0  # planned (with cfg.time: the budget's plan)


@dataclass
class RunResult:
    run_dir: Path
    fit: FitResult
    reports: dict[str, Report]  # split name → metrics of the final (best) model
    seconds: float
    main: bool = True  # False on the other ranks of a torchrun job, which print nothing


# ── the loop ─────────────────────────────────────────────────────────────────────────────────────────────
def fit(model: nn.Module, train: Split, val: Split | None, cfg: TrainConfig, preprocess: Preprocess,
        classes: list[str], *, run_dir: Path | None = None, callbacks: Callbacks = None, resume: dict | None = None,
        input_meta: dict | None = None, test: Split | None = None, world: World = SINGLE,
        device: torch.device | None = None, started: float | None = None,
        score_per_image: float | None = None) -> FitResult:
    """Train `model` on `train` for cfg.epochs, validating on `val` after each epoch.

    With `run_dir`, writes last.pt every epoch, best.pt when the monitored metric improves, and history.csv.
    With `resume` (a checkpoint dict), continues where that checkpoint stopped.  With cfg.ema, the averaged
    weights are the ones evaluated and saved.  At the end the model holds the best weights when
    cfg.restore_best, else the last ones.  `test` is scored each epoch only with cfg.track_test.
    Under torchrun (`world` of several ranks) each rank trains on its shard; only rank 0 writes files.
    With cfg.time, the epochs are planned to end the run (begun at `started`, a perf_counter(); default now)
    within that budget (training/budget.py); FitResult.epochs is the plan, and `score_per_image` (seconds, measured
    before training: training/rebatch.py) prices its first plan's validation scoring.  A plan of one cut epoch does
    not score it at its end (its history row has no val_ metrics, best_value stays None): the caller's final report
    scores those weights (train() does, and takes best_value from it).
    Raises NonFiniteLoss (a ValueError) at the first NaN/inf training loss.
    Freed tensor memory is reused rather than returned to the kernel meanwhile (device.reuse_freed_memory).
    """
    with reuse_freed_memory():
        return _fit(model, train, val, cfg, preprocess, classes, run_dir, callbacks, resume, input_meta, test, world,
                    device, started, score_per_image)


def _fit(model: nn.Module, train: Split, val: Split | None, cfg: TrainConfig, preprocess: Preprocess,
         classes: list[str], run_dir: Path | None, callbacks: Callbacks, resume: dict | None, input_meta: dict | None,
         test: Split | None, world: World, device: torch.device | None, started: float | None,
         score_per_image: float | None = None) -> FitResult:
    device = device or pick_device(cfg.device)
    dtype = pick_precision(cfg.precision, device)
    loss_fn = make_loss(cfg, train, len(classes), device)
    batches = Batches(train, cfg, len(classes), world, device)
    monitor = "val_loss" if train.regression and cfg.monitor == "val_acc" else cfg.monitor
    state = TrainState.create(model, cfg, batches.steps, device, dtype, world, monitor)
    augmenter = make_augmenter(cfg, train, state.augment_gen)
    full = resizable_size(model, train, cfg)  # (H, W) with --progressive-resize, else None
    to_score = {"val": val, **({"test": test} if cfg.track_test else {})}
    callbacks = CallbackList(callbacks)
    if cfg.early_stopping:  # on every rank: each computes the same best-epoch tracking
        callbacks.callbacks.append(EarlyStopping(cfg.patience))
    if resume is not None:
        restore(state, resume, cfg)
    budget = None if not cfg.time or resume is not None else TimeBudget.create(  # a resumed run keeps its plan
        cfg, started or time.perf_counter(), batches.steps, len(val) if val is not None and val.labeled else 0,
        len(test) if test is not None and test.labeled else 0, device, dtype is not None,
        (lambda epoch, epochs: epoch_cost(epoch, epochs, full, cfg.progressive_resize)) if full else None)
    if budget is not None:
        budget.score_per_image = score_per_image
    timing = next((s for s in (val, test) if s is not None and s.labeled and len(s)), None)  # a cut's revisions
    callbacks.on_train_begin(state)
    planned_in_epoch = False
    while state.epoch < state.epochs:  # state.epochs: cfg.epochs, or a time budget's plan
        state.begin_epoch(state.epoch + 1)  # model.train(); with --freeze-epochs, the phase's parameters and rates
        callbacks.on_epoch_begin(state)
        if budget is not None:
            budget.epoch_begin(state.epoch, state.epochs)
        meter = EpochMeter(device, train.regression)
        size = epoch_size(state.epoch, state.epochs, full, cfg.progressive_resize) if full else None
        for step, (raw, y, idx) in enumerate(batches.epoch(state.gen), start=1):
            x, y = make_batch(raw, y, preprocess, augmenter, len(classes), cfg.channels_last, idx, state.epoch,
                              size)
            state.optimizer.zero_grad(set_to_none=True)
            # fp16: the scaler's scaled loss keeps small gradients from flushing to 0
            logits, loss = forward_backward(state.net, x, y, loss_fn, state.scaler.scale, cfg.micro_batch,
                                            lambda: autocast(device, dtype), regularization(model, cfg.l1, cfg.l2))
            if cfg.clip_grad:
                state.scaler.unscale_(state.optimizer)  # clip the true gradients, not the scaled ones
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            state.scaler.step(state.optimizer)  # skipped when fp16 gradients overflowed
            state.scaler.update()
            state.step_schedule()
            if state.ema is not None:
                state.ema.update(model)
            state.step += 1
            if budget is not None and budget.plan_due(state.epoch, step, lambda due: distributed.broadcast(due, world)):
                cfg = plan(state, budget, budget.plan_from_steps(step), "estimated", world)
                planned_in_epoch = True  # config.json is rewritten at the epoch's end
            elif budget is not None and budget.revise_due(state.epoch, step):
                timed = scoring_seconds(state.scored, timing.images[:TIMED_IMAGES], preprocess, cfg, device, dtype) \
                    if timing is not None and not budget.revised else None  # the final margin's price, timed again
                if distributed.broadcast(budget.revise_cut(state.epoch, step, timed), world):
                    cfg = plan(state, budget, budget.planned, "measured", world)
                    planned_in_epoch = True
                else:
                    budget.cut_steps = state.epoch_steps  # rank 0's cut stands on every rank
            meter.add(loss, logits, y)
            steps = state.steps_in(state.epoch)  # a time budget may cut the last epoch short
            if step % LOG_EVERY == 0 or step == steps:
                stop_if_not_finite(meter, state, cfg, step, world)
                callbacks.on_batch_end(state, meter.logs(state.epoch, step, steps))
            if step == steps:
                break
        row, seen, train_seconds = meter.summary(state.epoch, state.optimizer.param_groups[-1]["lr"], world)
        scoring = time.perf_counter()
        scored = budget is None or budget.scores_epoch(state.epoch)  # a one-epoch budget's: the final report scores it
        for name, split in to_score.items():
            if scored and split is not None and len(split) and split.labeled:
                scores = score_split(state.scored, split, preprocess, classes, cfg, device, dtype, epoch_tta(cfg.tta),
                                     world)
                row.update({f"{name}_{k}": v for k, v in scores.headline.items()})
        if budget is not None:
            budget.scoring_seconds = time.perf_counter() - scoring
        previous = state.history[-1]["seconds"] if state.history else 0.0
        row.update(seconds=round(previous + time.perf_counter() - meter.start, 3),
                   train_images_per_s=round(seen / max(train_seconds, 1e-9), 1), time=round(time.time(), 3))
        state.record(row)
        if run_dir is not None and world.main:
            runs.save_epoch(run_dir, checkpoint(state, cfg, preprocess, classes, train, input_meta),
                            is_best=state.improved)
        if budget is not None and (budget_epoch_end(budget, state, world) or planned_in_epoch):
            cfg = state.cfg  # a new plan: follow it, and record it in last.pt and config.json so that --resume does
            planned_in_epoch = False
            if run_dir is not None and world.main:
                runs.save_epoch(run_dir, checkpoint(state, cfg, preprocess, classes, train, input_meta), False)
                update_config(run_dir, cfg)
        callbacks.on_epoch_end(state, row)
        state.stop_training = distributed.broadcast(state.stop_training, world)  # rank 0's callbacks decide
        if state.stop_training:
            break
    callbacks.on_train_end(state)
    model.load_state_dict(final_weights(state, cfg, run_dir))
    return FitResult(state.history, state.best_epoch, state.best_value, state.stop_training, monitor, state.epochs)


def resizable_size(model: nn.Module, train: Split, cfg: TrainConfig) -> tuple[int, int] | None:
    """The full (H, W) of the training images when cfg.progressive_resize trains on smaller ones (None when off);
    a ValueError when the data are not images or the model cannot take the first epoch's size."""
    if not cfg.progressive_resize or cfg.progressive_resize >= 1:
        return None
    if train.images.dim() != 4 or train.images.dtype != torch.uint8:
        raise ValueError("--progressive-resize applies to images; this data holds "
                         f"{'token ids' if train.images.dim() == 2 else 'features'}")
    full = tuple(train.images.shape[2:])
    check_resizable(model, tuple(train.images.shape[1:]), epoch_size(1, cfg.epochs, full, cfg.progressive_resize),
                    cfg.model)
    return full


def plan(state: TrainState, budget: TimeBudget, epochs: int, how: str, world: World) -> TrainConfig:
    """Follow a time budget's plan of `epochs` epochs in all; returns the planned config.  Under torchrun every
    rank follows rank 0's plan (they must also agree on when to plan again)."""
    budget.planned, budget.cut_steps = distributed.broadcast((epochs, budget.cut_steps), world)
    state.plan_epochs(budget.planned, budget.cut_steps)
    state.notes.append(budget.note(how))
    return state.cfg


def budget_epoch_end(budget: TimeBudget, state: TrainState, world: World) -> bool:
    """After an epoch, scored and saved: plan again where due, shorten the plan when the epochs left would
    overrun the budget, or lengthen it in its first quarter when they would leave more than 1.25 epochs unused (rank
    0's clock decides for every rank).  True when the plan changed (its epochs, or the steps of a cut last one)."""
    planned = state.epochs, state.epoch_steps
    if budget.replan_due(state.epoch):  # from the epoch as it was
        plan(state, budget, budget.plan_from_epoch(state.epoch), "measured", world)
    elif distributed.broadcast(budget.overdue(state.epoch), world):
        plan(state, budget, budget.plan_shorter(state.epoch), "measured", world)
    elif distributed.broadcast(budget.ahead(state.epoch), world):
        plan(state, budget, budget.plan_longer(state.epoch), "measured", world)
    return (state.epochs, state.epoch_steps) != planned


def update_config(run_dir: Path, cfg: TrainConfig) -> None:
    """Rewrite run_dir/config.json with cfg's values (a time budget's planned epochs), keeping its data record."""
    path = run_dir / "config.json"
    values = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    write_json(path, {**values, **cfg.to_dict()})


def stop_if_not_finite(meter: EpochMeter, state: TrainState, cfg: TrainConfig, step: int, world: World) -> None:
    """Raise NonFiniteLoss naming the epoch and step of the first NaN/inf loss since the last check."""
    bad = meter.first_bad_step(world)
    if bad is not None:
        kept = state.history[-1]["epoch"] if state.history else 0
        raise NonFiniteLoss(non_finite_message(state.epoch, min(bad, step), meter.loss_sum.item(), cfg, kept))


def restore(state: TrainState, resume: dict, cfg: TrainConfig) -> None:
    """Continue from a last.pt: refuses to stretch a schedule that was planned for another number of epochs."""
    planned = resume["config"]["epochs"]
    if planned != cfg.epochs and cfg.schedule in ("onecycle", "cosine", "linear"):
        raise ValueError(f"this run's {cfg.schedule} schedule was planned for {planned} epochs; resume it with "
                         f"--epochs {planned}, or start a new run (a {cfg.schedule} schedule cannot be stretched)")
    state.load_state_dict(resume)


def checkpoint(state: TrainState, cfg: TrainConfig, preprocess: Preprocess, classes: list[str], train: Split,
               input_meta: dict | None) -> dict:
    """last.pt's contents: how to rebuild and use the model (runs.checkpoint_header) + the training state."""
    header = runs.checkpoint_header(cfg, preprocess, classes, tuple(train.images.shape[1:]), input_meta)
    return {**header, **state.state_dict()}


def final_weights(state: TrainState, cfg: TrainConfig, run_dir: Path | None) -> dict:
    """The weights the model ends with: the best epoch's with cfg.restore_best, else the last scored ones."""
    if cfg.restore_best and state.history and state.best_epoch != state.history[-1]["epoch"]:
        if state.best_weights is not None:
            return state.best_weights
        if run_dir is not None:  # resumed after the best epoch: read it back
            return load_checkpoint(run_dir / "best.pt")["model_state"]
    return state.scored.state_dict()


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
    if data is None:
        data = load_sources(cfg, progress)
        cfg = apply_recipe(cfg, data, explicit, default_run) if resume_dir is None else cfg
        data = split_data(data, cfg)
    elif resume_dir is None:
        cfg = apply_recipe(cfg, data, explicit, default_run)  # a resumed run's config holds its recipe's values
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
        notes = default_run_notes(cfg, data, default_run) + notes + recipe_notes(cfg, data)
        notes += budget_notes
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
        result.best_value = reports["val"].headline.get(result.monitor[len("val_"):])
    seconds = time.perf_counter() - t0
    if world.main:
        runs.write_results(run_dir, result, reports, cfg, seconds)
    run = RunResult(run_dir, result, reports, seconds, world.main)
    callbacks.on_run_end(run)
    return run


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
