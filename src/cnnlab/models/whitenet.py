"""whitenet: a small, fast CIFAR-10 network with a patch-whitened first layer, after Keller Jordan's airbench
("94% on CIFAR-10 in 3.29 seconds on a single GPU", arXiv:2404.00498), itself built on David Page's
"How to train your ResNet" (2018) and hlb-CIFAR10 (Tysam, 2023).

    whiten 2×2 (24 filters, no padding) → GELU → 3 × [conv 3×3 → max-pool 2 → BN → GELU → conv 3×3 → BN → GELU]
    → global max-pool → dense (no bias) → ×1/9

The first layer is not learned: `init_from_data(x)` sets its 2×2 filters to the whitening transform of the
training images' 2×2 patches (PCA: each eigenvector of the patch covariance scaled by 1/√(eigenvalue + ε), and
its negative), so the network starts from decorrelated inputs.  Batch norms learn only their shift (their scale
stays 1: with the scale-invariance of a conv followed by BN it adds nothing but noise), use momentum 0.4 and keep
running statistics close to the last batches.  Convolutions start as identity maps on their first input channels
(Dirac init), so a fresh network passes its input through.
"""
from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.registry import DATA_INIT_SAMPLE, register

WHITEN_KERNEL = 2
BIAS_LR_SCALE = 64.0  # the shifts' learning-rate multiplier (training.optim reads Parameter.lr_scale)
WHITEN_EPS = 5e-4  # added to the eigenvalues: keeps the smallest components from being blown up


class PatchWhitening(nn.Conv2d):
    """A k×k convolution (no padding) whose 2·C·k² filters whiten k×k patches: eigenvectors of the patch covariance
    divided by √(eigenvalue + ε), and their negatives (so that the GELU after it keeps both signs).
    Its weights are fixed after `init_from_data`; its bias is learned (at BIAS_LR_SCALE × the rate)."""

    def __init__(self, channels: int, kernel: int = WHITEN_KERNEL, eps: float = WHITEN_EPS):
        super().__init__(channels, 2 * channels * kernel * kernel, kernel, padding=0, bias=True)
        self.eps = eps
        self.weight.requires_grad_(False)
        self.bias.lr_scale = BIAS_LR_SCALE

    @torch.no_grad()
    def init_from_data(self, x: torch.Tensor) -> None:
        """Set the filters from preprocessed training images x (N, C, H, W) float; uses at most 5,000 of them."""
        x = x[:DATA_INIT_SAMPLE].float()
        c, k = x.shape[1], self.kernel_size[0]
        patches = x.unfold(2, k, 1).unfold(3, k, 1).transpose(1, 3).reshape(-1, c * k * k)  # (P, C·k·k)
        patches = patches.double()
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending
        filters = (eigenvectors.T / torch.sqrt(eigenvalues.clamp_min(0) + self.eps)[:, None]).flip(0)
        filters = filters.reshape(-1, c, k, k).to(self.weight.dtype)
        self.weight.copy_(torch.cat((filters, -filters)))


class ShiftBatchNorm(nn.BatchNorm2d):
    """Batch norm that learns only its shift (β); the scale γ stays 1.  Momentum 0.4, ε 1e-12 (airbench).
    The shift learns at BIAS_LR_SCALE × the learning rate (and 1/BIAS_LR_SCALE × the weight decay)."""

    def __init__(self, channels: int, momentum: float = 0.4, eps: float = 1e-12):
        super().__init__(channels, eps=eps, momentum=momentum)
        self.weight.requires_grad_(False)
        self.bias.lr_scale = BIAS_LR_SCALE


class DiracConv(nn.Conv2d):
    """A 3×3 'same' convolution without bias whose first C_in filters start as identity maps (torch's dirac_)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(c_in, c_out, 3, padding=1, bias=False)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            nn.init.dirac_(self.weight[:min(self.in_channels, self.out_channels)])


class Scale(nn.Module):
    """Multiply by a constant (the output temperature)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor:g}"


def conv_group(c_in: int, c_out: int) -> nn.Sequential:
    """conv 3×3 → max-pool 2 → BN → GELU → conv 3×3 → BN → GELU (pooling before the norm: a quarter of the work)."""
    return nn.Sequential(DiracConv(c_in, c_out), nn.MaxPool2d(2), ShiftBatchNorm(c_out), nn.GELU(),
                         DiracConv(c_out, c_out), ShiftBatchNorm(c_out), nn.GELU())


WHITENET_MIN_SIDE = 16  # px: three 2× poolings after a 2×2 whitening layer


def whitenet_model(input_shape: tuple[int, int, int], num_classes: int,
                   widths: tuple[int, int, int] = (64, 256, 256)) -> nn.Module:
    """The network for (C, H, W) images of at least 16×16 pixels; `widths`: the three groups' channels."""
    c, h, w = input_shape
    if min(h, w) < WHITENET_MIN_SIDE:
        raise ValueError(f"model 'whitenet' cannot take {'x'.join(map(str, input_shape))} input: it needs images "
                         f"of at least {WHITENET_MIN_SIDE}×{WHITENET_MIN_SIDE} pixels (three 2× poolings after a "
                         f"2×2 whitening layer)")
    whiten = PatchWhitening(c)
    w1, w2, w3 = widths
    return nn.Sequential(whiten, nn.GELU(), conv_group(whiten.out_channels, w1), conv_group(w1, w2),
                         conv_group(w2, w3), nn.AdaptiveMaxPool2d(1), nn.Flatten(),
                         nn.Linear(w3, num_classes, bias=False), Scale(1 / 9))


@register("whitenet", "patch-whitened 2×2 input layer, 3 conv groups (64/256/256), BN shift only (airbench94)")
def whitenet(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """airbench94's network: 118M multiply-adds per 32×32 image, 2.0M parameters."""
    return whitenet_model(input_shape, num_classes, (64, 256, 256))


@register("whitenet-s", "whitenet at half the width (32/128/128): a quarter of the multiply-adds")
def whitenet_s(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """whitenet with widths 32/128/128 (33M multiply-adds per 32×32 image, 0.5M parameters)."""
    return whitenet_model(input_shape, num_classes, (32, 128, 128))


@register("whitenet-m", "whitenet at 3/4 of the width (48/192/192): about half the multiply-adds")
def whitenet_m(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """whitenet with widths 48/192/192 (69M multiply-adds per 32×32 image, 1.1M parameters)."""
    return whitenet_model(input_shape, num_classes, (48, 192, 192))
