"""Fine-tuning in two phases, as fastai's `Learner.fine_tune(epochs, base_lr, freeze_epochs)` (Howard & Gugger
2020, "Fastai: A Layered API for Deep Learning", §4.3; Howard & Ruder 2018, ULMFiT, for discriminative rates):

1. frozen: only the new classifier head learns, at base_lr; the body's weights stay as loaded;
2. unfrozen: everything learns, at base_lr / 2 for the head and rates spread geometrically down to a
   `lr_mult`-th of that for the earliest layers (parameter groups in definition order).

BatchNorm while frozen follows fastai (train_bn=True: the body's BatchNorm layers keep learning their scale and
shift and keep updating their running statistics, which adapts them to the new data); train_bn=False is Keras'
behaviour for a frozen base (`trainable = False`: BatchNorm in inference mode, statistics fixed).

The loop uses it as: groups = layer_groups(model, head); optimizer over discriminative_groups(groups, lr);
freeze(model, head) before the first epoch; in the loop's train-mode switch call keep_frozen_bn(model, head);
at epoch freeze_epochs + 1: unfreeze(model) and a new scheduler over the remaining epochs with the group rates.
"""
from __future__ import annotations

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
            p.requires_grad_(False)
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
    """Let every parameter learn again (phase 2)."""
    for p in model.parameters():
        p.requires_grad_(True)
