"""An exponential moving average of a model's weights: smoother weights that often generalise better."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `model`'s averaged twin: after each step, w_avg ← d·w_avg + (1−d)·w; buffers (BN statistics) follow.

    The decay ramps up as min(decay, (1 + t) / (10 + t)) so the first steps are not dominated by the random start.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.steps = 0
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self._pairs = None

    def _tensors(self, model: nn.Module):
        if self._pairs is None:  # state_dict() tensors share storage with the live parameters and buffers
            ours, theirs = self.model.state_dict(), model.state_dict()
            floats = [(ours[k], theirs[k]) for k in ours if ours[k].is_floating_point()]
            others = [(ours[k], theirs[k]) for k in ours if not ours[k].is_floating_point()]
            self._pairs = ([a for a, _ in floats], [b for _, b in floats], others)
        return self._pairs

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        averaged, live, others = self._tensors(model)
        torch._foreach_lerp_(averaged, live, 1 - d)
        for a, b in others:  # e.g. num_batches_tracked
            a.copy_(b)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict, steps: int) -> None:
        self.model.load_state_dict(state)
        self.steps = steps
