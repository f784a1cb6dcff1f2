"""Muon for convolution filters beside Nesterov SGD for the other parameters, in one torch optimizer.

Muon ("MomentUm Orthogonalized by Newton-schulz", Keller Jordan et al., 2024,
https://kellerjordan.github.io/posts/muon/) replaces each filter bank's momentum update by the nearest
semi-orthogonal matrix (all singular values ~1), computed with a few Newton-Schulz iterations; the rest (biases,
batch-norm shifts, the dense head) keeps Nesterov SGD.  This is airbench94_muon's arrangement (94% on CIFAR-10 in
8 epochs where SGD needs 10): the filters are also rescaled to a norm of √(output channels) before each step, so
their scale stays fixed and the rate alone sets how far they turn.  torch.optim.Muon takes 2-D weights only and
neither rescales; here a filter bank (C_out, C_in, k, k) is orthogonalised as its (C_out, C_in·k·k) matrix.
"""
from __future__ import annotations

import math

import torch

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)  # Jordan's quintic: the steepest slope at zero that still converges
NS_STEPS = 3  # airbench94_muon's; torch.optim.Muon defaults to 5
MUON_MOMENTUM = 0.6  # airbench94_muon's (Nesterov)


def orthogonalize(g: torch.Tensor, steps: int = NS_STEPS, eps: float = 1e-7) -> torch.Tensor:
    """An approximately semi-orthogonal matrix U·S'·Vᵀ (S' ∈ ~[0.5, 1.5]) from g = U·S·Vᵀ (2-D, any float
    dtype), by `steps` quintic Newton-Schulz iterations in bf16 (Jordan 2024); the result has g's dtype."""
    a, b, c = NS_COEFFICIENTS
    x = g.bfloat16()
    wide = x.shape[0] <= x.shape[1]
    x = x if wide else x.T
    x = x / (x.norm() + eps)  # spectral norm ≤ Frobenius norm ≤ 1
    for _ in range(steps):
        gram = x @ x.T
        x = a * x + (b * gram + c * gram @ gram) @ x
    return (x if wide else x.T).to(g.dtype)


def is_filter(p: torch.Tensor) -> bool:
    """A convolution's weights (C_out, C_in, k...): what Muon updates (those that get no gradient, e.g. frozen
    ones, are skipped at each step)."""
    return p.ndim >= 3


class MuonSGD(torch.optim.Optimizer):
    """Muon on the groups marked {"muon": True}, Nesterov SGD (torch.optim.SGD's update, L2 weight decay in the
    gradient) on the others.

    Group keys: lr, momentum, weight_decay (SGD groups only: Muon's groups keep a fixed norm instead), muon.  The
    learning-rate schedulers scale every group's lr alike, so a schedule moves the filters' rate (a step size in
    units of the filters' norm, whatever the loss's scale) in step with the SGD rate."""

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0):
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"MuonSGD needs lr, momentum and weight_decay ≥ 0, got {lr}, {momentum}, "
                             f"{weight_decay}")
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True, muon=False))
        for group in self.param_groups:
            if group["muon"] and any(p.ndim < 2 for p in group["params"]):
                raise ValueError("Muon updates matrices and filter banks only (≥ 2 dimensions), not biases")

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum, decay, muon = group["lr"], group["momentum"], group["weight_decay"], group["muon"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad if muon or not decay else p.grad.add(p, alpha=decay)
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = g.clone()
                else:
                    state["momentum_buffer"].mul_(momentum).add_(g)
                g = g.add(state["momentum_buffer"], alpha=momentum)  # Nesterov
                if muon:
                    p.mul_(math.sqrt(p.shape[0]) / p.norm().clamp_min(1e-12))
                    g = orthogonalize(g.reshape(p.shape[0], -1)).view_as(p)
                p.add_(g, alpha=-lr)
        return loss


def muon_groups(groups: list[dict], base_lr: float, muon_lr: float) -> list[dict]:
    """Each parameter group split into its filters (Muon, at muon_lr times the group's share of base_lr, momentum
    MUON_MOMENTUM) and the rest (SGD, as given); the filter groups first, so that the last group is the plain
    one whose rate a run's history reports.  Empty groups are left out."""
    filters, others = [], []
    for group in groups:
        params = list(group["params"])
        share = group.get("lr", base_lr) / base_lr if base_lr else 1.0
        mine = [p for p in params if is_filter(p)]
        if mine:
            filters.append({**group, "params": mine, "lr": muon_lr * share, "momentum": MUON_MOMENTUM,
                            "weight_decay": 0.0, "muon": True})
        rest = [p for p in params if not is_filter(p)]
        if rest:
            others.append({**group, "params": rest, "muon": False})
    return filters + others
