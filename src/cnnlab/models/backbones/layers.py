"""Building blocks shared by the ImageNet backbones, laid out so that torchvision's published state_dicts load.

The submodule names and the order of the children of each nn.Sequential are part of the contract: a parameter
is found by its dotted path (e.g. `features.1.0.block.1.0.weight`), so a conv–norm–activation triple is a plain
nn.Sequential whose children are named 0, 1, 2, as in torchvision.ops.misc.Conv2dNormActivation.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """`value` rounded to the nearest multiple of `divisor`, never below 90 % of it (MobileNetV2/V3's channel
    rounding, Sandler et al. 2018; the same rule as TensorFlow's reference implementation)."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def conv_norm_act(c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
                  norm: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
                  act: Callable[[], nn.Module] | None = None, padding: int | None = None,
                  bias: bool | None = None) -> nn.Sequential:
    """Conv2d (+ norm) (+ activation) as one nn.Sequential with children 0, 1, 2; 'same' padding for odd kernels;
    the conv has a bias only when there is no norm layer after it (unless `bias` says otherwise)."""
    padding = (kernel - 1) // 2 if padding is None else padding
    bias = norm is None if bias is None else bias
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, bias=bias)]
    if norm is not None:
        layers.append(norm(c_out))
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al. 2018, "Squeeze-and-Excitation Networks"): x · gate(fc2(act(fc1(mean_hw x)))),
    with 1×1 convs named fc1/fc2 as in torchvision.ops.SqueezeExcitation.  (B, C, H, W) → (B, C, H, W)."""

    def __init__(self, channels: int, squeeze: int, act: Callable[[], nn.Module] = nn.ReLU,
                 gate: Callable[[], nn.Module] = nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze, 1)
        self.fc2 = nn.Conv2d(squeeze, channels, 1)
        self.activation = act()
        self.scale_activation = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))  # (B, C, 1, 1)
        return x * scale


class StochasticDepth(nn.Module):
    """Drop a residual branch for whole samples with probability p while training, scaling the kept ones by
    1/(1-p) (Huang et al. 2016, "Deep Networks with Stochastic Depth"; torchvision's "row" mode).  No weights."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of a (B, C, H, W) tensor (ConvNeXt's downsampling and stem norm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)  # (B, H, W, C): normalise the last dimension
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class Permute(nn.Module):
    """x.permute(*dims) as a module, so that it can sit inside an nn.Sequential (no weights)."""

    def __init__(self, dims: list[int]):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(*self.dims)


def init_weights(model: nn.Module, linear_init: Callable[[torch.Tensor], None]) -> None:
    """torchvision's initialisation of its MobileNet/EfficientNet: convs Kaiming-normal (fan-out) with zero bias,
    dense layers' weights by `linear_init` (it differs between the two papers) with zero bias."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            linear_init(m.weight)
            nn.init.zeros_(m.bias)


def check_input(model: str, input_shape: tuple[int, ...], min_side: int) -> int:
    """The number of input channels (1 or 3) of (C, H, W) images; a ValueError for other shapes."""
    if len(input_shape) != 3:
        raise ValueError(f"model {model!r} takes (C, H, W) images, got input shape {input_shape}")
    channels, height, width = input_shape
    if channels not in (1, 3):
        raise ValueError(f"model {model!r} takes 1 (gray) or 3 (RGB) channels, got {channels}")
    if min(height, width) < min_side:
        raise ValueError(f"model {model!r} cannot take {height}x{width} input: it needs at least "
                         f"{min_side}x{min_side} pixels")
    return channels
