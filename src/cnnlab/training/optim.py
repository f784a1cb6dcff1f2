"""Optimizers, learning-rate schedules, losses and Keras-style weight regularisers, built from a TrainConfig."""
from __future__ import annotations

import warnings
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.training.config import TrainConfig
from cnnlab.training.muon import MuonSGD, muon_groups

DEFAULT_LR = {"sgd": 1e-2, "adam": 1e-3, "adamw": 1e-3, "rmsprop": 1e-3, "adadelta": 1.0, "adagrad": 1e-2,
              "muon": 1e-2}  # muon: its SGD part's (the filters take cfg.muon_lr)


def learning_rate(cfg: TrainConfig) -> float:
    return cfg.lr if cfg.lr is not None else DEFAULT_LR[cfg.optimizer]


def build_optimizer(cfg: TrainConfig, model: nn.Module, groups: list[dict] | None = None) -> torch.optim.Optimizer:
    """The optimizer for the model's parameters (already on their device), or for `groups` (torch's parameter
    groups, e.g. the layer groups of --freeze-epochs) when given."""
    lr, wd, params = learning_rate(cfg), cfg.weight_decay, list(model.parameters())
    # one fused kernel per step instead of a loop of small ops: +13-18% images/s for the small models on a CPU
    fused = True if params and params[0].device.type in ("cpu", "cuda") else None
    params = groups if groups is not None else scaled_groups(params, lr, wd)
    if cfg.optimizer == "muon":
        as_groups = params if params and isinstance(params[0], dict) else [{"params": params}]
        return MuonSGD(muon_groups(as_groups, lr, cfg.muon_lr), lr=lr, momentum=cfg.momentum, weight_decay=wd)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=wd,
                               fused=fused)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd, fused=fused)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd, fused=fused)
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)  # no momentum, as in Keras
    if cfg.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)
    return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)


def scaled_groups(params: list[nn.Parameter], lr: float, weight_decay: float) -> list[dict] | list[nn.Parameter]:
    """The parameters as they are, or, when some carry an `lr_scale` attribute (e.g. whitenet's batch-norm shifts,
    which airbench trains at 64× the rate), one optimizer group per scale with lr × scale and weight decay ÷ scale."""
    scales = sorted({float(getattr(p, "lr_scale", 1.0)) for p in params}, key=lambda s: s == 1.0)
    if scales == [1.0]:
        return params  # the unscaled group goes last: the history's "lr" column reports the last group's rate
    return [{"params": [p for p in params if float(getattr(p, "lr_scale", 1.0)) == s], "lr": lr * s,
             "weight_decay": weight_decay / s} for s in scales]


def build_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int,
                    max_lr: list[float] | None = None, last_steps: int | None = None
                    ) -> torch.optim.lr_scheduler.LRScheduler:
    """A scheduler stepped once per optimisation step over cfg.epochs epochs; `max_lr`: one-cycle's peak per
    parameter group (default each group's "lr", i.e. the config's rate times the group's lr_scale; the other
    schedules start from it); `last_steps`: the last epoch ends after that many steps (a time budget's cut)."""
    # +1: the scheduler is stepped after every optimisation step, so after the last one it sits at `total`
    # and must still be inside the schedule (OneCycleLR extrapolates, even to negative rates, beyond it)
    total = max(1, (cfg.epochs - 1) * steps_per_epoch + (last_steps or steps_per_epoch)) + 1
    if cfg.schedule == "onecycle" and total >= 8:  # shorter runs cannot warm up and anneal: constant rate
        # momentum cycles against the rate (Smith 2018): high while the rate is low, lowest at the peak rate.  SGD's
        # cycle ends at the configured momentum (--momentum) at the peak, from max(momentum, 0.95); Adam's β1 takes
        # fastai's 0.95 → 0.85 → 0.95 (torch's OneCycleLR defaults)
        defaults = optimizer.defaults
        momentum = defaults.get("momentum", 0.0)
        # Muon's filters keep their own momentum: a cycle shared by all groups would overwrite it
        has_momentum = ("betas" in defaults or momentum > 0) and not isinstance(optimizer, MuonSGD)
        moms = dict(base_momentum=momentum, max_momentum=max(momentum, 0.95)) if "betas" not in defaults else {}
        peaks = max_lr or [g.get("max_lr", g["lr"]) for g in optimizer.param_groups]  # max_lr: set by a OneCycleLR
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peaks, total_steps=total,
                                                   pct_start=0.25, anneal_strategy="linear", cycle_momentum=has_momentum,
                                                   div_factor=10.0, final_div_factor=100.0, **moms)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if cfg.schedule == "linear":  # straight down to 0 at the last step (airbench94_muon)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: max(0.0, 1 - step / (total - 1)))
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=cfg.step_epochs * steps_per_epoch,
                                               gamma=cfg.step_gamma)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def advance(scheduler: torch.optim.lr_scheduler.LRScheduler, steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """Step a fresh scheduler `steps` times without training: the rates it gives after that many optimisation
    steps (stepping, not jumping, so recursive schedules such as cosine follow their own formula)."""
    with warnings.catch_warnings():  # the optimizer has stepped, but not since this scheduler was built
        warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler.step\(\)` before", UserWarning)
        for _ in range(steps):
            scheduler.step()
    return scheduler


def rebuild_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int,
                      steps_done: int, last_steps: int | None = None) -> torch.optim.lr_scheduler.LRScheduler:
    """build_scheduler for cfg.epochs (the last one cut to `last_steps`), advanced by `steps_done` steps: the rates
    a run planned with that length from its start would have now (a time budget fixes it after the run started)."""
    for group in optimizer.param_groups:  # the schedules start from the group's current rate: its initial one
        if "initial_lr" in group:
            group["lr"] = group["initial_lr"]
    return advance(build_scheduler(cfg, optimizer, steps_per_epoch, last_steps=last_steps), steps_done)


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def build_loss(kind: str, num_classes: int, class_weights: torch.Tensor | None = None,
               label_smoothing: float = 0.0) -> LossFn:
    """loss(logits (B, K) float, targets) → scalar mean over the batch; targets are int64 labels (B,) or
    soft targets (B, K) float (rows summing to 1, e.g. from mixup/cutmix)."""
    def one_hot(y: torch.Tensor) -> torch.Tensor:
        return y.float() if y.is_floating_point() else F.one_hot(y, num_classes).float()

    def weighted(per_sample: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if class_weights is None:
            return per_sample.mean()
        w = y.float() @ class_weights if y.is_floating_point() else class_weights[y]  # (B,)
        return (per_sample * w).sum() / w.sum()

    if kind == "cross_entropy":
        def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            if not y.is_floating_point():  # each image's loss weighed by its class's weight (Keras's class_weight):
                # F.cross_entropy(weight=...) would also weigh label smoothing's uniform share of each image by
                # every class's weight, pulling all predictions towards the rare classes (6 CIFAR-10 classes of
                # 2,000 to 50 images, smoothing 0.2: validation accuracy 34%, balanced accuracy 50%)
                return weighted(F.cross_entropy(logits.float(), y, reduction="none", label_smoothing=label_smoothing), y)
            soft = y.float() * (1 - label_smoothing) + label_smoothing / num_classes
            return weighted(-(soft * logits.float().log_softmax(1)).sum(1), y)
        return cross_entropy
    if kind == "bce":  # K independent sigmoids against one-hot targets (Keras binary_crossentropy)
        return lambda logits, y: weighted(F.binary_cross_entropy_with_logits(
            logits.float(), one_hot(y), reduction="none").mean(1), y)
    # mse: squared error between softmax probabilities and one-hot targets (Keras mean_squared_error)
    return lambda logits, y: weighted(((logits.float().softmax(1) - one_hot(y)) ** 2).mean(1), y)


def regression_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the first output column against float targets (B,)."""
    return F.mse_loss(outputs.float()[:, 0], targets.float())


def probabilities(logits: torch.Tensor, loss_kind: str) -> torch.Tensor:
    """Class probabilities as the loss sees them: sigmoid for bce, softmax otherwise."""
    return logits.float().sigmoid() if loss_kind == "bce" else logits.float().softmax(1)


def regularization(model: nn.Module, l1: float, l2: float) -> torch.Tensor | float:
    """l1·Σ|w| + l2·Σw² over conv and dense weights (not biases or batch-norm), as Keras kernel regularisers."""
    if not l1 and not l2:
        return 0.0
    total = 0.0
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            w = module.weight
            total = total + l1 * w.abs().sum() + l2 * (w * w).sum()
    return total


def class_weights(counts: list[int]) -> torch.Tensor:
    """N / (K · n_k): rare classes weigh more; a class absent from the data gets weight 0."""
    counts_t = torch.tensor(counts, dtype=torch.float32)
    n, k = counts_t.sum(), (counts_t > 0).sum()
    return torch.where(counts_t > 0, n / (k * counts_t.clamp_min(1)), torch.zeros_like(counts_t))


IMBALANCE = 10  # largest class ÷ smallest from which a run says its classes are imbalanced


def imbalance_note(counts: list[int], classes: list, balance: str) -> str | None:
    """One line when the training split's classes are imbalanced (the largest has ≥ IMBALANCE × the images of the
    smallest present) and the run does not balance them (`balance` "none"): accuracy then favours the large
    classes, and `--balance weights|sampler` weighs the classes equally (as Keras's class_weight does).  None
    otherwise.  `counts`: images per class (Dataset.class_counts), in the order of `classes`."""
    present = [(n, c) for n, c in zip(counts, classes) if n > 0]
    if balance != "none" or len(present) < 2:
        return None
    (most, big), (least, small) = max(present, key=lambda p: p[0]), min(present, key=lambda p: p[0])
    if most < IMBALANCE * least:
        return None
    return (f"imbalanced classes: {most:,} training images of {big}, {least:,} of {small} ({most / least:.0f}×); "
            f"accuracy favours the large classes (balanced accuracy and macro F1 are reported beside it); "
            f"--balance weights or --balance sampler weighs the classes equally")
