"""Batches sized to a time budget: a recipe made for big batches (whitenet's 2,000 images per step) gets too few
steps from a short budget on a slow machine, so the batch is halved until the budget holds `min_steps` of them.

Within `--time 3m` on a 2-core CPU without bf16, CIFAR-10's colour recipe (batches of 2,000) trained 23 steps and
reached 73.6% on the validation split; in batches of 500 (77 steps) 80.6%, of 250 (120 steps) 80.0%.  FER2013's
faces recipe (batches of 1,000) trained 26 steps for 47.95% on PublicTest; in batches of 500 (50 steps) 58.6%, of
250 (a whole epoch of 104 steps, 215 s) 59.2%.  Some 50-100 steps did best on both; smaller batches lose more to
slower steps (a CPU runs a batch of 250 at ~80% of the images per second of one of 1,000) than they gain.

The step count comes from measured time, never from guesses about the hardware: before training, a copy of the
model trains on one batch of the smallest candidate size (the median of 3 passes after a warm-up one; the weights
and the random streams are left as they were) and scores it, and what the budget leaves after the scoring of one
epoch and of the final report is divided among the candidates.  The SGD rate follows the batch (the linear
scaling rule, Goyal et al. 2017, "Accurate, large minibatch SGD: training ImageNet in 1 hour"); Muon's rate is a
step relative to the filters' norm and stays.

The same probe prices the final report's test-time augmentation: multicrop's six views cost four more forward
passes per image than flip's two (on CIFAR-10's 5,000 validation images in fp32 on that CPU, ~20 s of a 3-minute
budget, about 14 more steps of 500).  In 3-minute CIFAR-10 runs multicrop scored 0.18 and 0.38 points above flip
(80.72 / 80.54%, 80.76 / 80.38%; flip 1.2 above none), where 9 more steps (66 → 75) had added ~1 point; at the end
of the 13-minute fast recipe multicrop is worth 0.2 over flip and 3% more steps little.  So where those extra views
would take more than TTA_SHARE of the budget, the final report scores with flip instead, and says so; a `--tta`
of your own stays.
"""
from __future__ import annotations

import copy
import dataclasses
import statistics
import time
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.data import Split
from cnnlab.data.preprocess import Preprocess
from cnnlab.runs.evaluate import predict_logits
from cnnlab.training.budget import SAFETY, sync
from cnnlab.training.costs import FINAL_NOISE, FP32_COST, TTA_PASSES, results_seconds, scoring_passes
from cnnlab.training.duration import format_duration, parse_duration
from cnnlab.training.config import MIRRORING_TTAS, TrainConfig
from cnnlab.training.device import autocast
from cnnlab.training.steps import forward_backward, make_batch, make_loss

SMALLEST = 8  # the batch is halved down to 1/8 of the recipe's (2,000 → 250, 1,000 → 125) ...
FLOOR = 32  # ... and never below 32 images (batch norm's statistics)
PROBE_PASSES = 3  # timed passes of the probe batch (their median), after an untimed one
TTA_SHARE = 0.05  # the most of a budget the final report's views beyond flip's may take (else it takes flip)


@dataclass(frozen=True)
class Probe:
    """What one probe measured: seconds per image of a training step (forward and backward) in batches of
    `batch`, and of an evaluation forward pass (as validation scores, in the training precision)."""

    batch: int
    train_per_image: float
    score_per_image: float


def candidates(batch: int) -> list[int]:
    """The batch sizes tried, largest first: `batch` halved down to batch / SMALLEST, none below FLOOR (at least
    `batch` itself)."""
    sizes = [batch]
    while sizes[-1] // 2 >= max(FLOOR, batch // SMALLEST):
        sizes.append(sizes[-1] // 2)
    return sizes


def choose_batch(batch: int, images: float, min_steps: int) -> int:
    """The largest candidate batch (see candidates) whose steps over `images` training images reach `min_steps`;
    the smallest candidate when none does."""
    sizes = candidates(batch)
    return next((size for size in sizes if images / size >= min_steps), sizes[-1])


def trainable_images(probe: Probe, seconds_left: float, budget: float, scored: int, final: int,
                     final_factor: float, classes: int = 0) -> float:
    """How many images the budget trains: `seconds_left` (s) less one epoch's validation scoring of `scored`
    image passes, the final report's `final` (at `final_factor` the cost: fp32 after bf16 training; priced as the
    budget prices it, FINAL_NOISE), the results (of `classes` classes) and the safety share of the `budget` (s), at
    the probe's training seconds per image."""
    scoring = probe.score_per_image * (scored + FINAL_NOISE * final * final_factor)
    left = seconds_left - scoring - results_seconds(classes) - SAFETY * budget
    return max(0.0, left) / probe.train_per_image if probe.train_per_image > 0 else float("inf")


def budget_tta(tta: str | None, score_per_image: float, images: int, final_factor: float,
               budget: float) -> str | None:
    """The test-time augmentation of a budgeted run's final report: `tta`, or flip when `tta` mirrors images
    (multicrop, rotate) and its views beyond flip's two, over `images` (val + test) at `score_per_image` seconds
    each (× `final_factor`: fp32 after bf16 training), would take more than TTA_SHARE of the `budget` (s)."""
    if tta not in MIRRORING_TTAS or TTA_PASSES[tta] <= TTA_PASSES["flip"]:
        return tta
    return "flip" if extra_views_seconds(tta, "flip", score_per_image, images, final_factor) > TTA_SHARE * budget \
        else tta


def extra_views_seconds(tta: str | None, instead: str | None, score_per_image: float, images: int,
                        final_factor: float) -> float:
    """Seconds the final scoring of `images` takes with `tta` beyond `instead` (their TTA_PASSES apart), at
    `score_per_image` seconds per view × `final_factor`."""
    return score_per_image * final_factor * images * (TTA_PASSES[tta] - TTA_PASSES[instead])


def probe_speed(model: nn.Module, train: Split, cfg: TrainConfig, preprocess: Preprocess, num_classes: int,
                device: torch.device, dtype: torch.dtype | None, batch: int) -> Probe:
    """Seconds per image of a training step and of an evaluation pass of `model` on the first `batch` training
    images (at most the split): the median of PROBE_PASSES timed passes each, after one untimed (it pays for one-off
    kernel set-up; single steps of whitenet-m on 125 faces took 0.76-1.6 s on a 2-core CPU).  Runs a copy of the
    model without an optimizer step: the model, its batch-norm statistics and the random streams are as they
    were."""
    n = max(2, min(batch, len(train)))
    raw, labels = train.images[:n].to(device), train.labels[:n].to(device)
    net = copy.deepcopy(model)  # in the memory format training gives it (TrainState.create)
    net.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.contiguous_format)
    net.train()
    loss_fn = make_loss(cfg, train, num_classes, device)
    x, y = make_batch(raw, labels, preprocess, None, num_classes, cfg.channels_last)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        seconds = []
        for _ in range(1 + PROBE_PASSES):
            sync(device)
            start = time.perf_counter()
            forward_backward(net, x, y, loss_fn, lambda loss: loss, cfg.micro_batch, lambda: autocast(device, dtype))
            sync(device)
            seconds.append(time.perf_counter() - start)
            net.zero_grad(set_to_none=True)
        train_per_image = statistics.median(seconds[1:]) / n
        score_per_image = scoring_seconds(net, raw, preprocess, cfg, device, dtype, 1 + PROBE_PASSES, median=True)
    return Probe(n, train_per_image, score_per_image)


def scoring_seconds(model: nn.Module, images: torch.Tensor, preprocess: Preprocess, cfg: TrainConfig,
                    device: torch.device, dtype: torch.dtype | None, passes: int = 2, median: bool = False) -> float:
    """Seconds per image of scoring `images` (N, ...) with `model` in eval mode, as validation does (cfg's eval
    batch and memory format, precision `dtype`): the fastest of `passes` timed passes (a slow spell only ever adds
    time), or with `median` the median of all but the first (which pays for one-off kernel set-up).  The model is
    left in the mode it was in."""
    seconds = []
    for _ in range(passes):
        sync(device)
        start = time.perf_counter()
        predict_logits(model, images, preprocess, device, dtype, cfg.eval_batch_size, cfg.channels_last)
        sync(device)
        seconds.append(time.perf_counter() - start)
    best = statistics.median(seconds[1:]) if median and len(seconds) > 1 else min(seconds)
    return best / max(1, len(images))


def fit_batch(cfg: TrainConfig, model: nn.Module, train: Split, val_size: int, test_size: int,
              preprocess: Preprocess, num_classes: int, device: torch.device, dtype: torch.dtype | None,
              started: float, broadcast=lambda value: value,
              keep_tta: bool = False) -> tuple[TrainConfig, list[str], float | None]:
    """cfg with the batch size (and SGD rate) that gives cfg.min_steps steps within its --time budget, begun at
    `started` (a perf_counter()), and the final report's test-time augmentation that budget pays for (budget_tta;
    `keep_tta`: the user chose it, it stays); the console notes that say what changed; the scoring seconds per
    image measured (None when nothing was timed: without a budget or min_steps, cfg is unchanged).
    `broadcast`: rank 0's choices on every rank under torchrun."""
    if not cfg.time or not cfg.min_steps:
        return cfg, [], None
    budget = parse_duration(cfg.time)
    probe = probe_speed(model, train, cfg, preprocess, num_classes, device, dtype, candidates(cfg.batch_size)[-1])
    factor = FP32_COST if dtype is not None else 1.0
    notes = []
    tta = cfg.tta if keep_tta else broadcast(budget_tta(cfg.tta, probe.score_per_image, val_size + test_size,
                                                        factor, budget))
    if tta != cfg.tta:
        extra = extra_views_seconds(cfg.tta, tta, probe.score_per_image, val_size + test_size, factor)
        notes.append(f"time budget {cfg.time}: the final scoring with {tta} TTA instead of {cfg.tta} (its "
                     f"{TTA_PASSES[cfg.tta] - TTA_PASSES[tta]} more views would take ~{extra:.0f} s, "
                     f"{extra / budget:.0%} of the budget, better spent training; --tta {cfg.tta} keeps them)")
        cfg = dataclasses.replace(cfg, tta=tta)
    if len(candidates(cfg.batch_size)) == 1:
        return cfg, notes, probe.score_per_image
    scored, final = scoring_passes(cfg.tta, cfg.track_test, val_size, test_size)
    left = started + budget - time.perf_counter()
    images = trainable_images(probe, left, budget, scored, final, factor, num_classes)
    batch = broadcast(choose_batch(cfg.batch_size, min(images, float(1 << 40)), cfg.min_steps))
    if batch == cfg.batch_size:
        return cfg, notes, probe.score_per_image
    lr = cfg.lr * batch / cfg.batch_size if cfg.lr is not None else None
    notes.append(f"time budget {cfg.time}: batches of {batch} instead of {cfg.batch_size}"
                 f"{f', SGD rate {lr:.3g}' if lr is not None else ''} (the {format_duration(left)} left hold "
                 f"~{images / cfg.batch_size:.0f} steps of {cfg.batch_size} at {1 / probe.train_per_image:.0f} "
                 f"images/s measured; --min-steps {cfg.min_steps})")
    return dataclasses.replace(cfg, batch_size=batch, lr=lr), notes, probe.score_per_image
