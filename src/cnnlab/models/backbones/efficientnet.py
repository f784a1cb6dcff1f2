"""EfficientNet-B0 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for CNNs", Table 1), with
torchvision's module names (features.N.M.block…, classifier.1) so that its published weights load."""
from __future__ import annotations

import math

import torch
from torch import nn

from cnnlab.models.backbones.layers import (SqueezeExcitation, StochasticDepth, conv_norm_act, init_weights,
                                           make_divisible)

# (expand ratio, kernel, stride, input channels, output channels, layers) per stage of B0, from the paper's Table 1
B0 = [(1, 3, 1, 32, 16, 1), (6, 3, 2, 16, 24, 2), (6, 5, 2, 24, 40, 2), (6, 3, 2, 40, 80, 3),
      (6, 5, 1, 80, 112, 3), (6, 5, 2, 112, 192, 4), (6, 3, 1, 192, 320, 1)]


class MBConv(nn.Module):
    """Mobile inverted bottleneck with squeeze-excite (SiLU): 1×1 expand (ratio > 1), k×k depthwise, SE (a quarter
    of the block's input width), 1×1 project; a residual with stochastic depth when stride 1 and width kept."""

    def __init__(self, expand: int, kernel: int, stride: int, c_in: int, c_out: int, drop: float):
        super().__init__()
        expanded = make_divisible(c_in * expand)
        layers: list[nn.Module] = []
        if expanded != c_in:
            layers.append(conv_norm_act(c_in, expanded, 1, act=nn.SiLU))
        layers.append(conv_norm_act(expanded, expanded, kernel, stride, groups=expanded, act=nn.SiLU))
        layers.append(SqueezeExcitation(expanded, max(1, c_in // 4), nn.SiLU, nn.Sigmoid))
        layers.append(conv_norm_act(expanded, c_out, 1))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(drop)
        self.use_res_connect = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_res_connect else out


class EfficientNet(nn.Module):
    """3×3/2 stem (SiLU), seven stages of MBConv blocks, a 1×1 conv to 4× the last width, global pool, dropout and
    the linear head; stochastic depth grows linearly with the block index up to `drop`.  (B, C, H, W) → logits."""

    def __init__(self, num_classes: int, in_channels: int = 3, dropout: float = 0.2, drop: float = 0.2,
                 stages: list[tuple] = B0):
        super().__init__()
        layers: list[nn.Module] = [conv_norm_act(in_channels, make_divisible(stages[0][3]), 3, 2, act=nn.SiLU)]
        total, index = sum(s[5] for s in stages), 0
        for expand, kernel, stride, c_in, c_out, depth in stages:
            blocks = []
            for j in range(depth):
                blocks.append(MBConv(expand, kernel, stride if j == 0 else 1, c_in if j == 0 else c_out, c_out,
                                     drop * index / total))
                index += 1
            layers.append(nn.Sequential(*blocks))
        last = stages[-1][4]
        layers.append(conv_norm_act(last, 4 * last, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(p=dropout, inplace=True), nn.Linear(4 * last, num_classes))
        init_weights(self, lambda w: nn.init.uniform_(w, -1.0 / math.sqrt(w.shape[0]), 1.0 / math.sqrt(w.shape[0])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
