"""The epoch loop: `fit(...)` trains a model on in-memory splits, epoch by epoch, to its best weights.

Whole splits stay in memory as uint8 tensors, each batch is picked by indexing, converted to float and
normalised on the fly.  The whole run around it (data, model, final reports, run directory) is
training/pipeline.py's `train(cfg)`.
What changes as it trains lives in one TrainState (training/state.py); progress goes to typed callbacks
(training/callbacks.py); this module never prints.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnnlab.training import distributed
from cnnlab.runs import rundir as runs
from cnnlab.runs.checkpoint import load_checkpoint, write_json
from cnnlab.training.budget import TimeBudget
from cnnlab.training.callbacks import Callback, CallbackList, EarlyStopping
from cnnlab.training.config import TrainConfig, epoch_tta
from cnnlab.data import Split
from cnnlab.training.device import autocast, pick_device, pick_precision, reuse_freed_memory
from cnnlab.training.distributed import SINGLE, World
from cnnlab.training.optim import regularization
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.resize import check_resizable, epoch_cost, epoch_size
from cnnlab.training.rebatch import scoring_seconds
from cnnlab.training.state import TrainState
from cnnlab.training.steps import (Batches, EpochMeter, NonFiniteLoss, forward_backward, make_augmenter, make_batch,
                                   make_loss, non_finite_message, score_split)

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
    monitor = "val_loss" if train.regression and cfg.monitor != "val_loss" else cfg.monitor
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
        (lambda epoch, epochs: epoch_cost(epoch, epochs, full, cfg.progressive_resize)) if full else None,
        classes=len(classes))
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
                if monitor.startswith(f"{name}_") and monitor not in row:  # e.g. val_balanced_acc picks the epoch
                    row[monitor] = scores.metric(monitor[len(name) + 1:])
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
    overrun the budget, or lengthen it in its first half when they would leave more than 1.25 epochs unused (rank
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
