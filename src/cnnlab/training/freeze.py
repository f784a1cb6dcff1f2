"""Fine-tuning in two phases, as fastai's `Learner.fine_tune(epochs, base_lr, freeze_epochs)` (Howard & Gugger
2020, "Fastai: A Layered API for Deep Learning", §4.3; Howard & Ruder 2018, ULMFiT, for discriminative rates):

1. frozen: only the new classifier head learns, at base_lr; the body's weights stay as loaded;
2. unfrozen: everything learns, at base_lr / 2 for the head and rates spread geometrically down to a
   `lr_mult`-th of that for the earliest layers (parameter groups in definition order).

BatchNorm while frozen can follow fastai (train_bn=True: the body's BatchNorm layers keep learning their scale and
shift and keep updating their running statistics, which adapts them to the new data) or Keras (train_bn=False,
`trainable = False` on the base: BatchNorm in inference mode, statistics fixed; Keras' transfer-learning guide,
Chollet 2020).  `--freeze-epochs` uses Keras': the published statistics come from 1.2 M ImageNet images and a
batch of 32 photos estimates them poorly, and with nothing before the head learning, the backward pass stops at
the head, so a frozen epoch costs little more than a forward pass (train_bn=True backpropagates through the
whole body to reach its BatchNorm layers).

FineTune is what the loop (through training.state.TrainState) uses: an optimizer over layer_groups, the body
frozen before the first epoch, and at epoch freeze_epochs + 1 everything unfrozen with a new schedule over the
remaining epochs at the discriminative rates (fastai's fine_tune: the same optimizer, its state kept).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

HEAD_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d)


def head_prefix(model: nn.Module) -> str:
    """Dotted name of the classifier head: the last Linear/Conv module in definition order (e.g. "fc",
    "classifier.3"); a ValueError when the model has none."""
    names = [name for name, m in model.named_modules() if isinstance(m, HEAD_TYPES)]
    if not names:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv layer to use as its head")
    return names[-1]


def _in_head(name: str, head: str) -> bool:
    return name == head or name.startswith(head + ".")


def layer_groups(model: nn.Module, head: str | None = None, body_groups: int = 3) -> list[list[nn.Parameter]]:
    """The model's parameters split into `body_groups` groups of about equal parameter count, earliest layers first
    (fastai splits a body into stages), then the head's parameters as the last group."""
    head = head or head_prefix(model)
    body = [(n, p) for n, p in model.named_parameters() if not _in_head(n.rsplit(".", 1)[0], head)]
    top = [p for n, p in model.named_parameters() if _in_head(n.rsplit(".", 1)[0], head)]
    total = sum(p.numel() for _, p in body) or 1
    groups: list[list[nn.Parameter]] = [[] for _ in range(body_groups)]
    seen = 0
    for _, p in body:  # cut at parameter-count boundaries so that each group gets a similar share
        groups[min(body_groups - 1, seen * body_groups // total)].append(p)
        seen += p.numel()
    return [g for g in groups if g] + [top]


def discriminative_groups(groups: list[list[nn.Parameter]], lr: float, lr_mult: float = 100) -> list[dict]:
    """Optimizer parameter groups with rates from lr / lr_mult (first group) to lr (the head), geometrically
    spaced (fastai's slice(lr / lr_mult, lr))."""
    n = len(groups)
    return [{"params": g, "lr": lr / lr_mult ** ((n - 1 - i) / max(1, n - 1))} for i, g in enumerate(groups)]


def freeze(model: nn.Module, head: str | None = None, train_bn: bool = True) -> int:
    """Stop gradients to every parameter outside the head (BatchNorm's too unless train_bn); returns how many
    parameter tensors were frozen.  Call keep_frozen_bn after each model.train() when not train_bn."""
    head = head or head_prefix(model)
    frozen = 0
    for name, module in model.named_modules():
        if _in_head(name, head) or (train_bn and isinstance(module, nn.modules.batchnorm._BatchNorm)):
            continue
        for p in module.parameters(recurse=False):
            if p.requires_grad:  # a parameter the model keeps fixed (e.g. whitenet's whitening filters) stays so
                p.requires_grad_(False)
                p.fine_tune_frozen = True
                frozen += 1
    if not train_bn:
        keep_frozen_bn(model, head)
    return frozen


def keep_frozen_bn(model: nn.Module, head: str | None = None) -> None:
    """Put the frozen body's BatchNorm layers in inference mode (Keras: fixed statistics) after model.train()."""
    head = head or head_prefix(model)
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not _in_head(name, head) and not any(
                p.requires_grad for p in module.parameters(recurse=False)):
            module.eval()


def unfreeze(model: nn.Module) -> None:
    """Let the parameters that `freeze` stopped learn again (phase 2)."""
    for p in model.parameters():
        if getattr(p, "fine_tune_frozen", False):
            p.requires_grad_(True)
            del p.fine_tune_frozen


@dataclass
class FineTune:
    """fastai's fine_tune(epochs, base_lr=lr, freeze_epochs) on one model: the parameter groups, which epochs are
    frozen, the rates and schedule of each phase.  Epochs count from 1, as the loop's do."""

    freeze_epochs: int
    lr: float  # base_lr: the head's rate while frozen; the unfrozen phase peaks at half of it (fastai)
    head: str  # dotted name of the classifier head
    groups: list[list[nn.Parameter]]  # layer_groups: earliest layers first, the head last
    lr_mult: float = 100  # the first group's rate is the head's / lr_mult once unfrozen

    @classmethod
    def create(cls, model: nn.Module, freeze_epochs: int, lr: float) -> FineTune:
        head = head_prefix(model)
        return cls(freeze_epochs, lr, head, layer_groups(model, head))

    def param_groups(self) -> list[dict]:
        """The optimizer's parameter groups, one per layer group (the frozen ones get no gradients: no steps)."""
        return [{"params": g, "lr": self.lr} for g in self.groups]

    def unfrozen_rates(self) -> list[float]:
        """Per group, earliest first: fastai's slice(base_lr / 2 / lr_mult, base_lr / 2)."""
        return [g["lr"] for g in discriminative_groups(self.groups, self.lr / 2, self.lr_mult)]

    def frozen(self, epoch: int) -> bool:
        return epoch <= self.freeze_epochs

    def freeze(self, model: nn.Module) -> None:
        freeze(model, self.head, train_bn=False)

    def train_mode(self, model: nn.Module, epoch: int) -> None:
        """model.train(), with the frozen body's BatchNorm kept in inference mode during the frozen epochs."""
        model.train()
        if self.frozen(epoch):
            keep_frozen_bn(model, self.head)

    def scheduler(self, cfg, optimizer: torch.optim.Optimizer, steps_per_epoch: int, frozen: bool):
        """A fresh schedule for one phase (fastai's fit_one_cycle per phase) over that phase's epochs; for the
        unfrozen phase the groups' rates are set to the discriminative ones first."""
        from cnnlab.training.optim import build_scheduler

        epochs = self.freeze_epochs if frozen else cfg.epochs - self.freeze_epochs
        rates = [self.lr] * len(self.groups) if frozen else self.unfrozen_rates()
        for group, rate in zip(optimizer.param_groups, rates):
            group["lr"] = rate
            group.pop("initial_lr", None)  # torch's schedulers keep an existing one: start from the new rate
        return build_scheduler(dataclasses.replace(cfg, epochs=epochs, freeze_epochs=0), optimizer, steps_per_epoch,
                               max_lr=rates)

    def describe(self) -> str:
        """The console line at the start of the unfrozen phase."""
        rates = self.unfrozen_rates()
        return f"unfrozen: all {len(self.groups)} layer groups train, lr from {rates[0]:.3g} to {rates[-1]:.3g}"
