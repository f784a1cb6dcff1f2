"""Multiply-accumulates (MACs) and FLOPs per image, counted with forward hooks on one dry run.

Convention: a MAC is one multiply plus one add, and 1 MAC = 2 FLOPs.  Only the weight layers are
counted — convolutions (also grouped and transposed) and dense layers; biases, batch norm, activations,
pooling and additions are left out, as in the papers' "FLOPs" figures (ResNet's "3.6 billion FLOPs"
for ResNet-50 are multiply-adds, i.e. MACs here).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayerMacs:
    name: str  # the module's dotted name in the model, e.g. "stages.0.conv1"
    kind: str  # Conv2d, Linear, ...
    macs: int  # per image


def _macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int | None:
    """MACs of one call of `module` for a batch of one, or None for a layer that is not counted."""
    if isinstance(module, nn.modules.conv._ConvTransposeNd):
        # every input value is multiplied by a (out/groups)·k… kernel slice and added into the output
        per_input = module.out_channels // module.groups * math.prod(module.kernel_size)
        return inputs[0].numel() * per_input
    if isinstance(module, nn.modules.conv._ConvNd):
        # every output value is a dot product over (in/groups)·k… inputs
        per_output = module.in_channels // module.groups * math.prod(module.kernel_size)
        return output.numel() * per_output
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return None


def layer_macs(model: nn.Module, input_shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> list[LayerMacs]:
    """MACs per input of every conv/dense call, in call order, from one forward pass of a single input
    of zeros (dtype=torch.long for models that take token ids)."""
    rows: list[LayerMacs] = []
    names = {module: name for name, module in model.named_modules()}

    def hook(module: nn.Module, inputs: tuple, output) -> None:
        macs = _macs(module, inputs, output)
        if macs is not None:
            rows.append(LayerMacs(names[module], type(module).__name__, int(macs)))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    was_training = model.training
    device = next(model.parameters(), torch.empty(0)).device
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, *input_shape, dtype=dtype, device=device))  # batch of one: counts per image
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return rows


def count_macs(model: nn.Module, input_shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> int:
    """Multiply-accumulates of one forward pass of one input, e.g. a (C, H, W) image."""
    return sum(r.macs for r in layer_macs(model, input_shape, dtype))


def count_flops(model: nn.Module, input_shape: tuple[int, ...], dtype: torch.dtype = torch.float32) -> int:
    """FLOPs of one forward pass of one input, at 2 FLOPs per MAC."""
    return 2 * count_macs(model, input_shape, dtype)
