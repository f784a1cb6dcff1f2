"""MobileNetV3 Small and Large (Howard et al. 2019, "Searching for MobileNetV3", Tables 1 and 2), with
torchvision's module names (features.N.block.M…, classifier.0/3) so that its published weights load."""
from __future__ import annotations

from functools import partial

import torch
from torch import nn

from cnnlab.models.backbones.layers import SqueezeExcitation, conv_norm_act, init_weights, make_divisible

# (kernel, expanded channels, output channels, squeeze-excite, hard-swish, stride) per bottleneck, from the paper
LARGE = [(3, 16, 16, False, False, 1), (3, 64, 24, False, False, 2), (3, 72, 24, False, False, 1),
         (5, 72, 40, True, False, 2), (5, 120, 40, True, False, 1), (5, 120, 40, True, False, 1),
         (3, 240, 80, False, True, 2), (3, 200, 80, False, True, 1), (3, 184, 80, False, True, 1),
         (3, 184, 80, False, True, 1), (3, 480, 112, True, True, 1), (3, 672, 112, True, True, 1),
         (5, 672, 160, True, True, 2), (5, 960, 160, True, True, 1), (5, 960, 160, True, True, 1)]
SMALL = [(3, 16, 16, True, False, 2), (3, 72, 24, False, False, 2), (3, 88, 24, False, False, 1),
         (5, 96, 40, True, True, 2), (5, 240, 40, True, True, 1), (5, 240, 40, True, True, 1),
         (5, 120, 48, True, True, 1), (5, 144, 48, True, True, 1), (5, 288, 96, True, True, 2),
         (5, 576, 96, True, True, 1), (5, 576, 96, True, True, 1)]
# BatchNorm as in the TensorFlow original: eps 1e-3, momentum 0.01 (PyTorch's convention: weight of the new batch)
Norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


class InvertedResidual(nn.Module):
    """1×1 expand (skipped when the width stays), k×k depthwise, optional squeeze-excite, 1×1 project; a residual
    when stride 1 and the width is kept.  (B, C_in, H, W) → (B, C_out, H/stride, W/stride)."""

    def __init__(self, c_in: int, kernel: int, expanded: int, c_out: int, se: bool, hswish: bool, stride: int):
        super().__init__()
        act = nn.Hardswish if hswish else nn.ReLU
        layers: list[nn.Module] = []
        if expanded != c_in:
            layers.append(conv_norm_act(c_in, expanded, 1, norm=Norm, act=act))
        layers.append(conv_norm_act(expanded, expanded, kernel, stride, groups=expanded, norm=Norm, act=act))
        if se:
            layers.append(SqueezeExcitation(expanded, make_divisible(expanded // 4), nn.ReLU, nn.Hardsigmoid))
        layers.append(conv_norm_act(expanded, c_out, 1, norm=Norm))
        self.block = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.block(x)
        return out + x if self.use_res_connect else out


class MobileNetV3(nn.Module):
    """3×3/2 stem (16 wide, hard-swish), the bottlenecks, a 1×1 conv to 6× the last width, global pool, then a
    hidden linear layer (hard-swish, dropout 0.2) and the linear head.  (B, C, H, W) → (B, num_classes)."""

    def __init__(self, setting: list[tuple], last_channel: int, num_classes: int, in_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = [conv_norm_act(in_channels, 16, 3, 2, norm=Norm, act=nn.Hardswish)]
        c_in = 16
        for kernel, expanded, c_out, se, hswish, stride in setting:
            layers.append(InvertedResidual(c_in, kernel, expanded, c_out, se, hswish, stride))
            c_in = c_out
        layers.append(conv_norm_act(c_in, 6 * c_in, 1, norm=Norm, act=nn.Hardswish))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Linear(6 * c_in, last_channel), nn.Hardswish(inplace=True),
                                        nn.Dropout(p=0.2, inplace=True), nn.Linear(last_channel, num_classes))
        init_weights(self, lambda w: nn.init.normal_(w, 0, 0.01))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))
