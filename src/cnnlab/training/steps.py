"""The pieces of one epoch: the batches of the training split, the model's input batch, the loss, running
figures kept on the device, and the scoring of a labelled split."""
from __future__ import annotations

import contextlib
import time
from typing import Callable, Iterator

import torch
from torch import nn

from cnnlab.data import Split
from cnnlab.data.preprocess import Preprocess
from cnnlab.runs.evaluate import Report, predict_logits, predict_logits_and_plain, report as make_report
from cnnlab.training.augment import Augmenter
from cnnlab.training.callbacks import BatchLogs
from cnnlab.training.config import TrainConfig
from cnnlab.training.distributed import SINGLE, World, all_sum, gather_rows, shard
from cnnlab.training.optim import build_loss, class_weights, regression_loss
from cnnlab.training.resize import resize


class NonFiniteLoss(ValueError):
    """The training loss became NaN or infinite; training stops (the run directory keeps the last finite epoch)."""


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


class Batches:
    """The training split where the loop reads it (uint8 on the device, or memory-mapped), in this rank's batches.

    Under torchrun every rank takes its shard of each epoch with batches of batch_size / ranks images, so the
    global batch stays cfg.batch_size.
    """

    def __init__(self, train: Split, cfg: TrainConfig, num_classes: int, world: World, device: torch.device):
        if cfg.batch_size % world.size:
            raise ValueError(f"batch size {cfg.batch_size} does not split evenly over {world.size} processes")
        # uint8 stays uint8: 4× less memory than float; a streamed (memory-mapped) split stays where it is
        self.images = train.images if train.streamed else train.images.to(device)
        self.labels = train.labels if train.streamed else train.labels.to(device)
        self.streamed, self.workers, self.device, self.world = train.streamed, cfg.workers, device, world
        self.n = len(train)
        self.batch = cfg.batch_size // world.size  # per rank
        self.n_local = self.n // world.size  # every rank the same number of images, hence of steps
        tail = self.n_local % self.batch
        self.steps = self.n_local // self.batch + (1 if tail > 1 else 0)  # a 1-image tail is dropped (BatchNorm)
        self.sample_weights = class_weights(train.class_counts(num_classes))[train.labels] \
            if cfg.balance == "sampler" and not train.regression else None

    def epoch(self, gen: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """This epoch's (uint8 images, labels, their indices in the split) batches: indexed in memory, or read by
        workers from a memory map."""
        order = shard(epoch_order(self.n, gen, self.sample_weights), self.world)[:self.n_local]  # on the CPU
        # the indices handed on stay on the CPU, where the augmentation draws (alternating flips): no device sync
        chunks = [order[step * self.batch:(step + 1) * self.batch] for step in range(self.steps)]
        if not self.streamed:
            on_device = order.to(self.device)
            for step, idx in enumerate(chunks):
                rows = on_device[step * self.batch:(step + 1) * self.batch]
                yield self.images[rows], self.labels[rows], idx
            return
        loader = torch.utils.data.DataLoader(_Rows(self.images, self.labels), sampler=chunks, batch_size=None,
                                             num_workers=self.workers, pin_memory=self.device.type == "cuda",
                                             prefetch_factor=4 if self.workers else None,
                                             generator=torch.Generator())  # leaves the global RNG (dropout) alone
        for (x, y), idx in zip(loader, chunks):
            yield x.to(self.device, non_blocking=True), y.to(self.device, non_blocking=True), idx


def make_batch(raw: torch.Tensor, y: torch.Tensor, preprocess: Preprocess, augmenter: Augmenter | None,
               num_classes: int, channels_last: bool, index: torch.Tensor | None = None,
               epoch: int = 1, size: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's input batch and its targets (int labels, or soft (B, K) targets after mixup/cutmix).
    `index`, `epoch`: the images' positions in the split and the epoch, for alternating flips.  `size` (h, w):
    the images resampled to that size (progressive resizing, training/resize.py); None: as stored."""
    if augmenter is None:
        x = preprocess(raw)  # (B, C, H, W) float, or (B, L) token ids
        if size is not None:
            x = resize(x, size)
    else:  # augment in pixel units [0, 1]; the warp resamples to `size` in the same pass
        x = preprocess.normalize(augmenter(raw.float() / 255, index, epoch, size))
        if augmenter.mixes:
            x, y = augmenter.mix(x, y, num_classes)
    if channels_last and x.dim() == 4:  # images and spectrograms; token ids (B, L) have no memory format
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y


def forward_backward(net: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable, scale: Callable,
                     micro_batch: int | None, autocast_ctx: Callable,
                     penalty: torch.Tensor | float = 0.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch's forward and backward passes: (logits (B, K), loss) with the gradients of the mean loss (plus
    `penalty`, e.g. Keras-style l1/l2) summed into the parameters' .grad.

    With `micro_batch` < B the batch goes through in pieces of that many images, each piece's loss weighted by its
    share of the batch (gradient accumulation): the same step up to batch norm, which normalises each piece by its
    own statistics (Hoffer et al. 2017's "ghost batch norm"), and a class-weighted loss, weighted within each
    piece.  On a CPU a piece that fits the caches is faster: whitenet-m's forward and backward passes ran 598
    images/s in batches of 2,000 and 752 in pieces of 1,000 (bf16, 2 cores).  `scale`: the fp16 loss scaler's
    scale; `autocast_ctx()`: the precision context."""
    pieces = list(zip(x.split(micro_batch), y.split(micro_batch))) if micro_batch else [(x, y)]
    outputs, total = [], 0.0
    for i, (xs, ys) in enumerate(pieces):
        # under DistributedDataParallel the gradients are all-reduced once per batch, with the last piece's backward
        # pass (DDP's no_sync keeps the earlier pieces' gradients local); unwrapped models have no no_sync
        no_sync = getattr(net, "no_sync", None) if i < len(pieces) - 1 else None
        with no_sync() if no_sync is not None else contextlib.nullcontext():
            with autocast_ctx():
                logits = net(xs)
            loss = loss_fn(logits, ys) * (len(xs) / len(x)) + (penalty if i == 0 else 0.0)  # the penalty once
            scale(loss).backward()
        outputs.append(logits.detach())
        total = total + loss.detach()
    return (outputs[0] if len(outputs) == 1 else torch.cat(outputs)), total


def make_loss(cfg: TrainConfig, train: Split, num_classes: int, device: torch.device) -> Callable:
    """loss_fn(logits, targets) → scalar: MSE for regression targets, else cfg.loss (class-weighted with balance)."""
    if train.regression:  # float targets: MSE loss, mean absolute error instead of accuracy
        if cfg.balance != "none":
            raise ValueError("--balance applies to classes; this data has regression targets")
        return regression_loss
    weights = class_weights(train.class_counts(num_classes)).to(device) if cfg.balance == "weights" else None
    return build_loss(cfg.loss, num_classes, weights, cfg.label_smoothing)


def make_augmenter(cfg: TrainConfig, train: Split, gen: torch.Generator) -> Augmenter | None:
    """The batch augmentation of cfg.augment (images only), drawing from `gen`."""
    if not cfg.augment:
        return None
    if train.images.dtype != torch.uint8:
        raise ValueError("--augment applies to images; this data holds "
                         f"{'token ids' if train.images.dim() == 2 else 'features'}")
    return Augmenter(cfg.augment, gen)


class EpochMeter:
    """An epoch's running training figures, summed on the device so that a step needs no sync."""

    def __init__(self, device: torch.device, regression: bool):
        self.regression = regression
        self.loss_sum = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.float32 if regression else torch.int64)
        self.finite_steps = torch.zeros((), device=device, dtype=torch.int64)  # steps before the first bad loss
        self.seen = 0
        self.start = time.perf_counter()

    def add(self, loss: torch.Tensor, logits: torch.Tensor, y: torch.Tensor) -> None:
        self.loss_sum += loss.detach() * len(y)
        self.finite_steps += torch.isfinite(self.loss_sum)  # a NaN/inf loss makes the sum non-finite for good
        if self.regression:  # summed absolute error, for the mean absolute error
            self.correct += (logits.detach().float()[:, 0] - y).abs().sum()
        else:
            self.correct += (logits.argmax(1) == (y.argmax(1) if y.ndim == 2 else y)).sum()
        self.seen += len(y)

    def logs(self, epoch: int, step: int, steps: int) -> BatchLogs:
        """The running means so far (a device sync)."""
        loss, metric = self.loss_sum.item() / self.seen, self.correct.item() / self.seen
        return BatchLogs(epoch, step, steps, loss, None if self.regression else metric,
                         metric if self.regression else None, self.seen / max(time.perf_counter() - self.start, 1e-9))

    def first_bad_step(self, world: World = SINGLE) -> int | None:
        """The 1-based step of the epoch's first NaN/inf loss, or None while every rank's losses are finite."""
        bad = all_sum((~torch.isfinite(self.loss_sum)).float().reshape(1), world)  # any rank: all stop together
        return int(self.finite_steps.item()) + 1 if bad.item() else None

    def summary(self, epoch: int, lr: float, world: World) -> tuple[dict, int, float]:
        """The epoch's history row of training figures over all ranks, the images seen, and the training seconds."""
        seconds = time.perf_counter() - self.start
        loss, correct, seen = all_sum(torch.stack([self.loss_sum.float(), self.correct.float(),
                                                   torch.tensor(float(self.seen), device=self.loss_sum.device)]),
                                      world).tolist()
        return ({"epoch": epoch, "lr": lr, "train_loss": loss / max(seen, 1),
                 "train_mae" if self.regression else "train_acc": correct / max(seen, 1)}, int(seen), seconds)


def non_finite_message(epoch: int, step: int, loss: float, cfg: TrainConfig, kept: int) -> str:
    """The one line that stops a run whose loss became NaN or infinite."""
    cause = f"the learning rate ({cfg.lr:g})" if cfg.lr is not None else "the learning rate"
    fix = "lower --lr" + (f" or try --clip-grad {cfg.clip_grad / 10:g}" if cfg.clip_grad else " or try --clip-grad 1")
    kept_text = f"; the run directory keeps the checkpoints of epoch {kept}" if kept else ""
    return (f"epoch {epoch}, step {step}: the training loss became {loss}; {cause} is likely too high "
            f"({fix}){kept_text}")


def score_split(model: nn.Module, split: Split, preprocess: Preprocess, classes: list[str], cfg: TrainConfig,
                device: torch.device, dtype, tta: str | None, world: World = SINGLE) -> Report:
    """Metrics of `model` on a labelled split; under torchrun each rank predicts its shard."""
    rows = split.images[world.rank::world.size]  # a strided view: a memory-mapped split is not copied
    logits = predict_logits(model, rows, preprocess, device, dtype, cfg.eval_batch_size, cfg.channels_last, tta)
    return _gathered_report(logits, split, classes, cfg, device, world)


def score_split_and_plain(model: nn.Module, split: Split, preprocess: Preprocess, classes: list[str],
                          cfg: TrainConfig, device: torch.device, dtype, tta: str,
                          world: World = SINGLE) -> tuple[Report, Report]:
    """Metrics of `model` on a labelled split with `tta` and without it, from the TTA's forward passes alone
    (see predict_logits_and_plain); under torchrun each rank predicts its shard."""
    rows = split.images[world.rank::world.size]
    both = predict_logits_and_plain(model, rows, preprocess, device, dtype, cfg.eval_batch_size, cfg.channels_last,
                                    tta)
    return tuple(_gathered_report(logits, split, classes, cfg, device, world) for logits in both)


def _gathered_report(logits: torch.Tensor, split: Split, classes: list[str], cfg: TrainConfig, device: torch.device,
                     world: World) -> Report:
    """The report of a split from each rank's logits of its shard (gathered back into the split's order)."""
    logits = gather_rows(logits.to(device), len(split), world).cpu()
    return make_report(logits, split.labels, classes, cfg.loss, cfg.top_k)
