"""The learning-rate range test (Smith 2015/2017, "Cyclical Learning Rates for Training Neural Networks", §3.3;
as fastai's `lr_find` and Lightning's `Tuner.lr_find`): train for at most ~100 steps while the learning rate grows
exponentially from 1e-7 to 10, follow an exponentially smoothed loss, stop when it diverges, and suggest the
learning rate where the smoothed loss falls fastest.  The model's weights, buffers and the RNG are restored.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnlab.data import Split
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.config import TrainConfig
from cnnlab.training.device import autocast, pick_device, pick_precision
from cnnlab.training.optim import build_loss, build_optimizer

START_LR, END_LR = 1e-7, 10.0  # the range swept, as fastai and Lightning
STEPS = 100  # at most this many optimisation steps
BETA = 0.98  # smoothing of the loss: an exponential moving average with bias correction (fastai)
DIVERGE = 4.0  # stop once the smoothed loss exceeds this multiple of the best seen
SKIP_START = 5  # steps ignored when looking for the steepest descent: the average is still settling


@dataclass
class LRFindResult:
    """Learning rates tried (one per step), the raw and smoothed losses, and the suggested learning rate."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    suggestion: float = float("nan")  # steepest descent of the smoothed loss (per decade of lr), before its minimum
    minimum_lr: float = float("nan")  # the lr at the smoothed loss's minimum
    stopped: str = ""  # why the sweep ended: "diverged" or "range done"

    @property
    def min_over_10(self) -> float:
        """fastai's other rule of thumb: a tenth of the lr at the minimum of the smoothed loss."""
        return self.minimum_lr / 10


def suggest(lrs: list[float], smoothed: list[float]) -> tuple[float, float]:
    """(lr of steepest descent of the smoothed loss vs log10 lr, searched before its minimum; lr at the minimum).
    The slope is a central difference over ±n/12 steps (about ±0.7 decade for 100 steps over 1e-7…10): on a flat
    curve, neighbouring steps' differences are noise."""
    n = len(lrs)
    if n < 3:
        raise ValueError(f"the range test took only {n} steps; it needs at least 3 (more training images "
                         f"or a smaller batch)")
    low = int(min(range(n), key=smoothed.__getitem__))
    start = min(SKIP_START, max(0, low - 2))
    end = min(n - 1, max(low, start + 2))  # at least two points to take a slope over
    logs = [math.log10(lr) for lr in lrs]
    k = max(1, n // 12)

    def slope(i: int) -> float:
        a, b = max(0, i - k), min(n - 1, i + k)
        return (smoothed[b] - smoothed[a]) / (logs[b] - logs[a]) if b > a else float("inf")

    steepest = min(range(start, end + 1), key=slope)
    return lrs[steepest], lrs[low]


def lr_find(model: nn.Module, train: Split, cfg: TrainConfig, preprocess: Preprocess, num_classes: int,
            steps: int = STEPS, start_lr: float = START_LR, end_lr: float = END_LR,
            device: torch.device | None = None) -> LRFindResult:
    """Run the range test with cfg's optimizer, loss, batch size and precision on `train`; the model ends as it
    started (weights, BatchNorm statistics, training mode, device) and so does torch's RNG."""
    device = device or pick_device(cfg.device)
    dtype = pick_precision(cfg.precision, device)
    saved = copy.deepcopy(model.state_dict())
    was_training, rng = model.training, torch.get_rng_state()
    home = next(model.parameters()).device
    try:
        return _sweep(model.to(device).train(), train, cfg, preprocess, num_classes, steps, start_lr, end_lr,
                      device, dtype)
    finally:
        model.to(home).load_state_dict(saved)
        model.train(was_training)
        torch.set_rng_state(rng)


def _sweep(model: nn.Module, train: Split, cfg: TrainConfig, preprocess: Preprocess, num_classes: int,
           steps: int, start_lr: float, end_lr: float, device: torch.device, dtype) -> LRFindResult:
    optimizer = build_optimizer(cfg, model)
    loss_fn = build_loss(cfg.loss, num_classes, None, cfg.label_smoothing)
    gen = torch.Generator().manual_seed(cfg.seed)
    n, batch = len(train), min(cfg.batch_size, len(train))
    ratio = (end_lr / start_lr) ** (1 / max(1, steps - 1))  # lr × ratio per step: start_lr … end_lr
    result, average, best = LRFindResult(), 0.0, float("inf")
    order = torch.randperm(n, generator=gen)
    for step in range(steps):
        if (step + 1) * batch > len(order):  # the data ran out: another shuffled pass
            order = torch.cat([order, torch.randperm(n, generator=gen)])
        idx = order[step * batch:(step + 1) * batch]
        x = preprocess(train.images[idx].to(device))  # (B, C, H, W) normalised floats, or (B, L) token ids
        y = train.labels[idx].to(device)
        lr = start_lr * ratio ** step
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(device, dtype):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        value = float(loss.detach())
        average = BETA * average + (1 - BETA) * value
        smoothed = average / (1 - BETA ** (step + 1))  # bias-corrected: the average starts at 0
        result.lrs.append(lr)
        result.losses.append(value)
        result.smoothed.append(smoothed)
        if not math.isfinite(smoothed) or (step > 0 and smoothed > DIVERGE * best):
            result.stopped = "diverged"
            break
        best = min(best, smoothed)
    result.stopped = result.stopped or "range done"
    finite = [(lr, s) for lr, s in zip(result.lrs, result.smoothed) if math.isfinite(s)]
    result.suggestion, result.minimum_lr = suggest([lr for lr, _ in finite], [s for _, s in finite])
    return result


def lr_find_figure(result: LRFindResult, title: str = ""):
    """Smoothed (and raw) loss vs learning rate on a log axis, the suggestion and the minimum marked; a
    matplotlib Figure (no pyplot, no backend switch)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.2), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(result.lrs, result.losses, color="0.75", linewidth=0.8, label="loss per step")
    ax.plot(result.lrs, result.smoothed, color="C0", label=f"smoothed (EMA, β = {BETA})")
    at = result.lrs.index(result.suggestion)
    ax.plot([result.suggestion], [result.smoothed[at]], "o", color="C3",
            label=f"suggested --lr {result.suggestion:.2g} (steepest descent)")
    ax.axvline(result.min_over_10, color="C2", linestyle=":", label=f"minimum / 10 = {result.min_over_10:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    finite = [s for s in result.smoothed if math.isfinite(s)]
    ax.set_ylim(min(finite) * 0.9, min(max(finite), 4 * min(finite)) * 1.05)
    ax.set_title(title or f"LR range test ({len(result.lrs)} steps, {result.stopped})")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return fig


def lr_find_for(cfg: TrainConfig, progress=None, explicit: set[str] | None = None,
                steps: int = STEPS) -> tuple[LRFindResult, dict]:
    """Load cfg.data as `cnnlab train` would (enlarged images shrunk, recipe, validation split, limit,
    normalisation, --pretrained or --init-from), build cfg.model and run the range test on the training split.  (result, a description of the
    data and model for the report); nothing is written."""
    from cnnlab.data.rundata import load_for_training, seed_everything, split_data
    from cnnlab.models import build
    from cnnlab.runs.init import start_weights
    from cnnlab.training.recipes import apply_recipe, chosen_fields

    explicit = chosen_fields(cfg) if explicit is None else explicit
    cfg, data, _ = load_for_training(cfg, explicit, progress, recipe_run=cfg.recipe is not None)  # as trained
    cfg = apply_recipe(cfg, data, explicit)
    data = split_data(data, cfg)
    seed_everything(cfg.seed)
    train = data["train"]
    if train.regression:
        raise ValueError(f"{data.source}: the range test is for classifiers; this data has regression targets")
    preprocess = Preprocess.fit(train.images, cfg.normalize)
    model = build(cfg.model, data.input_shape, len(data.classes), **data.meta.get("model_options", {}))
    preprocess, started = start_weights(model, cfg, data.classes, preprocess, data.input_shape, progress)
    result = lr_find(model, train, cfg, preprocess, len(data.classes), steps)
    return result, {"data": data.name, "model": cfg.model, "images": len(train), "optimizer": cfg.optimizer,
                    "batch_size": cfg.batch_size, "init": started, "recipe_lr": cfg.lr}
