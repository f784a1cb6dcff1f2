"""ConvNeXt-Tiny (Liu et al. 2022, "A ConvNet for the 2020s"), with torchvision's module names (features.N.M.block…,
layer_scale, classifier.0/2) so that its published weights load."""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from cnnlab.models.backbones.layers import LayerNorm2d, Permute, StochasticDepth

TINY = [(96, 3), (192, 3), (384, 9), (768, 3)]  # (width, blocks) per stage, from the paper's Section 3
Norm2d = partial(LayerNorm2d, eps=1e-6)


class CNBlock(nn.Module):
    """7×7 depthwise conv, LayerNorm, 4× pointwise MLP with GELU (as Linear layers on channels-last), a learned
    per-channel layer scale, stochastic depth and a residual.  (B, C, H, W) → (B, C, H, W)."""

    def __init__(self, dim: int, layer_scale: float, drop: float):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim), Permute([0, 2, 3, 1]),  # → (B, H, W, C)
            nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim),
            Permute([0, 3, 1, 2]))  # → (B, C, H, W)
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
        self.stochastic_depth = StochasticDepth(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stochastic_depth(self.layer_scale * self.block(x)) + x


class ConvNeXt(nn.Module):
    """4×4/4 patchify stem + LayerNorm, four stages of CNBlocks with LayerNorm + 2×2/2 conv between them, global
    pool, then LayerNorm, flatten and the linear head.  Needs inputs of at least 32×32.  (B, C, H, W) → logits."""

    def __init__(self, num_classes: int, in_channels: int = 3, stages: list[tuple[int, int]] = TINY,
                 drop: float = 0.1, layer_scale: float = 1e-6):
        super().__init__()
        stem = nn.Sequential(nn.Conv2d(in_channels, stages[0][0], 4, 4), Norm2d(stages[0][0]))
        layers: list[nn.Module] = [stem]
        total, index = sum(d for _, d in stages), 0
        for i, (width, depth) in enumerate(stages):
            blocks = []
            for _ in range(depth):
                blocks.append(CNBlock(width, layer_scale, drop * index / (total - 1.0)))
                index += 1
            layers.append(nn.Sequential(*blocks))
            if i + 1 < len(stages):  # downsampling between stages
                layers.append(nn.Sequential(Norm2d(width), nn.Conv2d(width, stages[i + 1][0], 2, 2)))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        last = stages[-1][0]
        self.classifier = nn.Sequential(Norm2d(last), nn.Flatten(1), nn.Linear(last, num_classes))
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.avgpool(self.features(x)))
