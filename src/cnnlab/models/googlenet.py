"""GoogLeNet (Inception v1): Szegedy et al., "Going deeper with convolutions", CVPR 2015 (arXiv 2014) —
a small-input variant built from the paper's nine Inception modules."""
from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.registry import register

# The paper's Table 1, per module: #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
INCEPTION_TABLE = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}
STEM = 192  # filters coming out of the paper's stem (conv 7×7/2 → pool → conv 1×1 → conv 3×3)


def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    """k×k 'same' convolution → batch norm → ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Inception(nn.Module):
    """Four parallel branches on the same input, concatenated along channels:
    1×1 | 1×1 reduce → 3×3 | 1×1 reduce → 5×5 | 3×3/1 max pool → 1×1 projection.
    The 1×1 reductions are what keeps the 3×3 and 5×5 convolutions cheap."""

    def __init__(self, c_in: int, n1: int, r3: int, n3: int, r5: int, n5: int, pool: int) -> None:
        super().__init__()
        self.branch1 = conv_bn_relu(c_in, n1, 1)
        self.branch3 = nn.Sequential(conv_bn_relu(c_in, r3, 1), conv_bn_relu(r3, n3, 3))
        self.branch5 = nn.Sequential(conv_bn_relu(c_in, r5, 1), conv_bn_relu(r5, n5, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_bn_relu(c_in, pool, 1))
        self.out_channels = n1 + n3 + n5 + pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c_in, H, W) → (B, n1+n3+n5+pool, H, W)
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


class GoogLeNet(nn.Module):
    """GoogLeNet for small images: stem → 3a 3b → pool → 4a…4e → pool → 5a 5b → global average pool
    → dropout 0.4 → dense, the paper's sequence of nine Inception modules and its head.

    Scaled for small inputs: every module keeps the paper's branch structure with its filter counts
    divided by 4 (3a: 64, 96→128, 16→32, 32 → 16, 24→32, 4→8, 8; 5b outputs 256 maps instead of 1,024).
    The paper's stem (7×7/2 conv, pool, 1×1 and 3×3 convs, pool: 224 → 28 pixels) becomes one 3×3 conv
    and one 3×3/2 max pool (32 → 16), so the modules see 16×16, 8×8 and 4×4 maps on a 32×32 input.
    Every convolution is followed by batch norm (Inception v2's addition, which replaces the paper's
    local response normalisation), and the two auxiliary classifiers, a training aid for the 22-layer
    network on ImageNet, are left out.  Any input of 1×1 or more works (pools are padded, the head
    pools globally).
    """

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, width: float = 0.25,
                 dropout: float = 0.4) -> None:
        super().__init__()
        scale = lambda n: max(1, round(n * width))  # noqa: E731
        stem = scale(STEM)
        self.stem = nn.Sequential(conv_bn_relu(input_shape[0], stem, 3), nn.MaxPool2d(3, 2, padding=1))
        modules: list[nn.Module] = []
        c = stem
        for name, filters in INCEPTION_TABLE.items():
            if name in ("4a", "5a"):  # the paper pools 3×3/2 before stages 4 and 5
                modules.append(nn.MaxPool2d(3, 2, padding=1))
            block = Inception(c, *(scale(f) for f in filters))
            modules.append(block)
            c = block.out_channels
        self.inception = nn.Sequential(*modules)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(c, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, classes)
        return self.head(self.inception(self.stem(x)))


@register("googlenet", "Szegedy et al. 2014, small-input GoogLeNet: 9 Inception modules (filters ÷4) + BN")
def googlenet(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """GoogLeNet with the paper's nine Inception modules at a quarter of their filters."""
    return GoogLeNet(input_shape, num_classes)
