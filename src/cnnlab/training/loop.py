"""Training, top to bottom: data → model → the epoch loop → the best weights → metrics and the run directory.

`train(cfg)` is what `cnnlab train` calls.  `fit(...)` is the loop itself: whole splits stay in memory
as uint8 tensors, each batch is picked by indexing, converted to float and normalised on the fly.
Progress goes to an optional `report(event, info)` callback; this module never prints.
"""
from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from cnnlab.training import distributed
from cnnlab.runs import rundir as runs
from cnnlab.training.augment import Augmenter
from cnnlab.runs.checkpoint import load_checkpoint
from cnnlab.training.config import TrainConfig
from cnnlab.data import Dataset, Split
from cnnlab.data.splits import stratified_split  # noqa: F401  (re-exported for the Python API)
from cnnlab.training.device import autocast, cpu_count, pick_device, pick_precision, set_threads
from cnnlab.training.distributed import SINGLE, World, all_sum, gather_rows, shard
from cnnlab.training.ema import EMA
from cnnlab.runs.evaluate import Report, predict_logits, report as make_report
from cnnlab.models import build, count_parameters
from cnnlab.training.optim import (build_loss, build_optimizer, build_scheduler, class_weights, regression_loss,
                                   regularization)
from cnnlab.data.preprocess import Preprocess
from cnnlab.training.recipes import apply_recipe
from cnnlab.runs.init import start_weights
from cnnlab.data.rundata import load_sources, prepare_data, seed_everything, split_data  # noqa: F401  (prepare_data: re-exported)

Reporter = Callable[[str, dict], None]  # (event, info); events: start, epoch_start, step, epoch_end, end
STEP_REPORT_EVERY = 10  # steps between "step" events (each costs a device sync)
AUGMENT_SEED_OFFSET = 1_000_003  # the augmentation's generator: its own stream, not a copy of the shuffling's


def _quiet(event: str, info: dict) -> None:
    pass


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)  # one row per epoch
    best_epoch: int = 0
    best_value: float | None = None
    stopped_early: bool = False
    monitor: str = "val_acc"  # what picked the best epoch (val_loss for regression)


@dataclass
class RunResult:
    run_dir: Path
    fit: FitResult
    reports: dict[str, Report]  # split name → metrics of the final (best) model
    seconds: float
    main: bool = True  # False on the other ranks of a torchrun job, which print nothing


# ── the loop ─────────────────────────────────────────────────────────────────────────────────────────────
def epoch_order(n: int, gen: torch.Generator, sample_weights: torch.Tensor | None) -> torch.Tensor:
    """This epoch's image order: a permutation, or n class-balanced draws with replacement."""
    if sample_weights is None:
        return torch.randperm(n, generator=gen)
    return torch.multinomial(sample_weights, n, replacement=True, generator=gen)


class _Rows(torch.utils.data.Dataset):
    """Batches of rows of a memory-mapped split, read by DataLoader workers (one batch of indices per item)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ordered, back = idx.sort()  # read the file in order, then restore the batch's own order
        return self.images[ordered][back.argsort()], self.labels[idx]


def epoch_batches(images: torch.Tensor, labels: torch.Tensor, order: torch.Tensor, batch: int, steps: int,
                  device: torch.device, streamed: bool = False, workers: int = 0):
    """This epoch's (uint8 images, labels) batches: indexed in memory, or read by workers from a memory map."""
    chunks = [order[step * batch:(step + 1) * batch] for step in range(steps)]
    if not streamed:
        for idx in chunks:
            yield images[idx], labels[idx]
        return
    loader = torch.utils.data.DataLoader(_Rows(images, labels), sampler=[c.cpu() for c in chunks], batch_size=None,
                                         num_workers=workers, pin_memory=device.type == "cuda",
                                         prefetch_factor=4 if workers else None,
                                         generator=torch.Generator())  # leaves the global RNG (dropout) alone
    for x, y in loader:
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def make_batch(raw: torch.Tensor, y: torch.Tensor, preprocess: Preprocess, augmenter: Augmenter | None,
               num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's input batch and its targets (int labels, or soft (B, K) targets after mixup/cutmix)."""
    if augmenter is None:
        return preprocess(raw), y  # (B, C, H, W) float, or (B, L) token ids
    x = preprocess.normalize(augmenter(raw.float() / 255))  # augment in pixel units [0, 1]
    if augmenter.mixes:
        x, y = augmenter.mix(x, y, num_classes)
    return x, y


def score_split(model: nn.Module, split: Split, preprocess: Preprocess, classes: list[str], cfg: TrainConfig,
                device: torch.device, dtype, tta: str | None, world: World = SINGLE) -> Report:
    """Metrics of `model` on a labelled split; under torchrun each rank predicts its shard."""
    rows = split.images[world.rank::world.size]  # a strided view: a memory-mapped split is not copied
    logits = predict_logits(model, rows, preprocess, device, dtype, cfg.eval_batch_size, cfg.channels_last, tta)
    logits = gather_rows(logits.to(device), len(split), world).cpu()
    return make_report(logits, split.labels, classes, cfg.loss, cfg.top_k)


def fit(model: nn.Module, train: Split, val: Split | None, cfg: TrainConfig, preprocess: Preprocess,
        classes: list[str], run_dir: Path | None = None, report: Reporter = _quiet,
        resume: dict | None = None, input_meta: dict | None = None, test: Split | None = None,
        world: World = SINGLE, device: torch.device | None = None) -> FitResult:
    """Train `model` on `train` for cfg.epochs, validating on `val` after each epoch.

    With `run_dir`, writes last.pt every epoch, best.pt when the monitored metric improves, and history.csv.
    With `resume` (a checkpoint dict), continues where that checkpoint stopped.  With cfg.ema, the averaged
    weights are the ones evaluated and saved.  At the end the model holds the best weights when
    cfg.restore_best, else the last ones.  `test` is scored each epoch only with cfg.track_test.

    Under torchrun (`world` of several ranks) every rank takes its shard of each epoch with batches of
    batch_size / ranks images, so the global batch stays cfg.batch_size; only rank 0 writes files.
    """
    device = device or pick_device(cfg.device)
    dtype = pick_precision(cfg.precision, device)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(device, memory_format=memory_format)
    net = model  # what the forward pass goes through; under torchrun a DDP wrapper that averages the gradients
    if world.distributed:
        from torch.nn.parallel import DistributedDataParallel  # imported here: it pulls in much of torch.distributed

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    # uint8 stays uint8: 4× less memory than float; a streamed (memory-mapped) split stays where it is
    images = train.images if train.streamed else train.images.to(device)
    labels = train.labels if train.streamed else train.labels.to(device)
    n, num_classes = len(train), len(classes)
    if cfg.batch_size % world.size:
        raise ValueError(f"batch size {cfg.batch_size} does not split evenly over {world.size} processes")
    batch = cfg.batch_size // world.size  # per rank
    n_local = n // world.size  # every rank the same number of images, hence of steps
    steps_per_epoch = n_local // batch + (1 if n_local % batch > 1 else 0)  # a 1-image tail is dropped
    write = run_dir is not None and world.main

    regression = train.regression  # float targets: MSE loss, mean absolute error instead of accuracy
    if regression and cfg.balance != "none":
        raise ValueError("--balance applies to classes; this data has regression targets")
    counts = train.class_counts(num_classes)
    weights = class_weights(counts).to(device) if cfg.balance == "weights" else None
    sample_weights = class_weights(counts)[train.labels] if cfg.balance == "sampler" else None
    loss_fn = regression_loss if regression else build_loss(cfg.loss, num_classes, weights, cfg.label_smoothing)
    monitor = "val_loss" if regression and cfg.monitor == "val_acc" else cfg.monitor
    optimizer = build_optimizer(cfg, model)
    scheduler = build_scheduler(cfg, optimizer, steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)
    augment_gen = torch.Generator().manual_seed(cfg.seed + AUGMENT_SEED_OFFSET + world.rank)
    augmenter = Augmenter(cfg.augment, augment_gen) if cfg.augment else None
    if augmenter is not None and images.dtype != torch.uint8:
        raise ValueError("--augment applies to images; this data holds "
                         f"{'token ids' if images.dim() == 2 else 'features'}")
    ema = EMA(model, cfg.ema) if cfg.ema else None
    scored = ema.model if ema else model  # the weights that are evaluated and saved
    to_score = {"val": val, **({"test": test} if cfg.track_test and test is not None else {})}
    result = FitResult(monitor=monitor)
    better = (lambda a, b: a > b + cfg.min_delta) if monitor == "val_acc" else (lambda a, b: a < b - cfg.min_delta)
    first_epoch, since_best, best_state = 1, 0, None
    if resume is not None:
        planned = resume["config"]["epochs"]
        if planned != cfg.epochs and cfg.schedule in ("onecycle", "cosine"):
            raise ValueError(f"this run's {cfg.schedule} schedule was planned for {planned} epochs; resume it with "
                             f"--epochs {planned}, or start a new run (a {cfg.schedule} schedule cannot be stretched)")
        model.load_state_dict(resume.get("train_state") or resume["model_state"])
        if ema is not None:
            ema.load_state_dict(resume["model_state"], resume["ema_steps"])
        optimizer.load_state_dict(resume["optimizer_state"])
        scheduler.load_state_dict(resume["scheduler_state"])
        torch.set_rng_state(resume["rng"]["torch"])
        gen.set_state(resume["rng"]["shuffle"])
        if "augment" in resume["rng"]:
            augment_gen.set_state(resume["rng"]["augment"])
        result.history = list(resume["history"])
        result.best_epoch, result.best_value = resume["best"]["epoch"], resume["best"]["value"]
        first_epoch, since_best = resume["epoch"] + 1, resume["best"].get("since", 0)

    report("start", {"device": str(device), "precision": str(dtype or "fp32").replace("torch.", ""),
                     "train": n, "val": len(val) if val is not None else 0, "steps_per_epoch": steps_per_epoch,
                     "params": count_parameters(model), "first_epoch": first_epoch, "epochs": cfg.epochs})
    elapsed = result.history[-1]["seconds"] if result.history else 0.0
    for epoch in range(first_epoch, cfg.epochs + 1):
        report("epoch_start", {"epoch": epoch, "epochs": cfg.epochs, "steps": steps_per_epoch})
        model.train()
        start = time.perf_counter()
        order = shard(epoch_order(n, gen, sample_weights), world)[:n_local]
        order = order if train.streamed else order.to(device)
        loss_sum = torch.zeros((), device=device)
        correct = torch.zeros((), device=device, dtype=torch.float32 if regression else torch.int64)
        seen = 0
        batches = epoch_batches(images, labels, order, batch, steps_per_epoch, device, train.streamed, cfg.workers)
        for step, (raw, y) in enumerate(batches):
            x, y = make_batch(raw, y, preprocess, augmenter, num_classes)
            if x.dim() == 4:  # images and spectrograms; token ids (B, L) have no memory format
                x = x.contiguous(memory_format=memory_format)
            with autocast(device, dtype):
                logits = net(x)
            loss = loss_fn(logits, y) + regularization(model, cfg.l1, cfg.l2)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update(model)
            loss_sum += loss.detach() * len(y)
            if regression:  # summed absolute error, for the mean absolute error
                correct += (logits.detach().float()[:, 0] - y).abs().sum()
            else:
                correct += (logits.argmax(1) == (y.argmax(1) if y.ndim == 2 else y)).sum()
            seen += len(y)
            if (step + 1) % STEP_REPORT_EVERY == 0 or step + 1 == steps_per_epoch:
                dt = time.perf_counter() - start
                report("step", {"epoch": epoch, "step": step + 1, "steps": steps_per_epoch,
                                "loss": loss_sum.item() / seen, "mae" if regression else "acc": correct.item() / seen,
                                "images_per_s": seen / max(dt, 1e-9)})
        train_seconds = time.perf_counter() - start
        totals = all_sum(torch.stack([loss_sum.float(), correct.float(), torch.tensor(float(seen), device=device)]),
                         world).tolist()  # over all ranks
        row = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"], "train_loss": totals[0] / max(totals[2], 1),
               "train_mae" if regression else "train_acc": totals[1] / max(totals[2], 1)}
        seen = int(totals[2])
        for name, split in to_score.items():
            if split is not None and len(split) and split.labeled:
                scores = score_split(scored, split, preprocess, classes, cfg, device, dtype, cfg.tta, world)
                row.update({f"{name}_{k}": v for k, v in scores.headline.items()})
        elapsed += time.perf_counter() - start
        row.update(seconds=round(elapsed, 3), train_images_per_s=round(seen / max(train_seconds, 1e-9), 1),
                   time=round(time.time(), 3))
        result.history.append(row)

        value = row.get(monitor)
        improved = value is not None and (result.best_value is None or better(value, result.best_value))
        if improved or value is None:
            result.best_epoch, result.best_value, since_best = epoch, value, 0
            best_state = {k: v.detach().clone() for k, v in scored.state_dict().items()}
        else:
            since_best += 1
        stop = cfg.early_stopping and value is not None and since_best >= cfg.patience
        if write:
            state = runs.checkpoint_dict(scored, cfg, preprocess, classes, tuple(train.images.shape[1:]),
                                         input_meta=input_meta or {}, epoch=epoch, history=result.history,
                                         best={"monitor": monitor, "value": result.best_value,
                                               "epoch": result.best_epoch, "since": since_best},
                                         optimizer=optimizer, scheduler=scheduler,
                                         rng={"torch": torch.get_rng_state(), "shuffle": gen.get_state(),
                                              "augment": augment_gen.get_state()})
            if ema is not None:  # resuming needs the raw weights too
                state.update(train_state={k: v.detach().cpu() for k, v in model.state_dict().items()},
                             ema_steps=ema.steps)
            runs.save_epoch(run_dir, state, is_best=result.best_epoch == epoch)
        report("epoch_end", {**row, "best_epoch": result.best_epoch, "improved": result.best_epoch == epoch})
        if stop:
            result.stopped_early = True
            report("early_stop", {"epoch": epoch, "patience": cfg.patience, "monitor": monitor})
            break

    final = scored.state_dict()
    if cfg.restore_best and result.history and result.best_epoch != result.history[-1]["epoch"]:
        if best_state is None and run_dir is not None:  # resumed after the best epoch: read it back
            best_state = load_checkpoint(run_dir / "best.pt")["model_state"]
        final = best_state if best_state is not None else final
    model.load_state_dict(final)
    return result


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
def train(cfg: TrainConfig, report: Reporter = _quiet, data: Dataset | None = None,
          resume_dir: Path | None = None, progress=None, explicit: set[str] | None = None) -> RunResult:
    """Load the data, build the model, fit it, evaluate the best weights and write the run directory.

    With cfg.recipe, the recipe's values for this data replace the config's, except the fields named in
    `explicit` (default: those that differ from TrainConfig's defaults), which the user chose.
    Started by torchrun, it trains with DistributedDataParallel; rank 0 alone writes and reports.
    """
    t0 = time.perf_counter()
    warm = threading.Thread(target=_warm_imports, daemon=True)
    warm.start()
    world, device = distributed.join(cfg.device)
    finished = False
    try:
        result = _train(cfg, report if world.main else _quiet, data, resume_dir, progress, explicit, world, device,
                        t0)
        finished = True
        return result
    finally:
        warm.join()  # never leave an import half done in a thread when the process exits
        distributed.leave(finished)


def _train(cfg: TrainConfig, report: Reporter, data: Dataset | None, resume_dir: Path | None, progress,
           explicit: set[str] | None, world: World, device: torch.device | None, t0: float) -> RunResult:
    set_threads(cfg.threads or (max(1, cpu_count() // world.local_size) if world.distributed else None))
    if data is None:
        data = load_sources(cfg, progress)
        cfg = apply_recipe(cfg, data, explicit) if resume_dir is None else cfg
        data = split_data(data, cfg)
    elif resume_dir is None:
        cfg = apply_recipe(cfg, data, explicit)  # a resumed run's config already holds its recipe's values
    seed_everything(cfg.seed + world.rank)  # ranks differ in dropout; the epoch order is shared (cfg.seed)
    classes = data.classes
    train_split, val_split = data["train"], data.splits.get("val")
    resume = runs.load_last(resume_dir) if resume_dir is not None else None
    if resume is not None:
        preprocess = Preprocess.from_state(resume["preprocess"])
    else:
        preprocess = Preprocess.fit(train_split.images, cfg.normalize)
    model = build(cfg.model, data.input_shape, len(classes), **data.meta.get("model_options", {}))
    if resume is None:  # --pretrained / --init-from: existing weights (and ImageNet normalisation) first
        preprocess, started = start_weights(model, cfg, classes, preprocess, data.input_shape, progress)
        if started:
            report("init", {"text": started})
    if resume is None and train_split.regression:
        start_at_targets(model, train_split.labels)
    if resume_dir is not None:
        run_dir = resume_dir
    else:  # rank 0 names it; the others learn the name
        run_dir = Path(distributed.broadcast(str(runs.new_run_dir(cfg, data.name)) if world.main else None, world))
    if world.main:
        runs.write_config(run_dir, cfg, data)
    report("data", {"name": data.name, "source": data.source, "shape": data.input_shape, "classes": classes,
                    "splits": {k: len(v) for k, v in data.splits.items()}, "run_dir": str(run_dir),
                    "normalize": preprocess.describe(), "model": cfg.model})

    result = fit(model, train_split, val_split, cfg, preprocess, classes, run_dir, report, resume, data.meta,
                 data.splits.get("test"), world, device)

    device = device or pick_device(cfg.device)
    dtype = pick_precision(cfg.precision, device)
    reports = {}
    for split in ("val", "test"):
        if split in data and data[split].labeled and len(data[split]):
            for tta, key in ((cfg.tta, split), *(((None, f"{split}_no_tta"),) if cfg.tta else ())):
                reports[key] = score_split(model, data[split], preprocess, classes, cfg, device, dtype, tta, world)
    seconds = time.perf_counter() - t0
    if world.main:
        runs.write_results(run_dir, result, reports, cfg, seconds)
    report("end", {"run_dir": str(run_dir), "reports": reports, "best_epoch": result.best_epoch,
                   "best_value": result.best_value, "monitor": result.monitor, "seconds": seconds})
    return RunResult(run_dir, result, reports, seconds, world.main)
