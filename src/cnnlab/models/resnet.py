"""ResNet: He, Zhang, Ren & Sun, "Deep residual learning for image recognition", CVPR 2016 (arXiv 2015) —
basic (two 3×3 conv) blocks, in the paper's ImageNet ResNet-18 widths and its CIFAR ResNet-20."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.models.registry import register


class PadShortcut(nn.Module):
    """The paper's option A shortcut: identity, subsampled by `stride`, with zero channels appended
    up to `out_channels` — no parameters."""

    def __init__(self, out_channels: int, stride: int) -> None:
        super().__init__()
        self.out_channels, self.stride = out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c, H, W) → (B, out, ⌈H/s⌉, ⌈W/s⌉)
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - x.shape[1]))

    def extra_repr(self) -> str:
        return f"out_channels={self.out_channels}, stride={self.stride}"


class BasicBlock(nn.Module):
    """relu(x + F(x)) with F = conv 3×3 (stride s) → BN → ReLU → conv 3×3 → BN.

    The shortcut is the identity when the shape is unchanged; otherwise a 1×1 strided conv + BN
    ("projection", option B) or a subsampled, zero-padded identity ("pad", option A).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, shortcut: str) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        if stride == 1 and c_in == c_out:
            self.shortcut: nn.Module = nn.Identity()
        elif shortcut == "projection":
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        else:
            self.shortcut = PadShortcut(c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, c_in, H, W) → (B, c_out, H/s, W/s)
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x), inplace=True)


class ResNet(nn.Module):
    """3×3 conv stem → stages of basic blocks (the first block of each later stage halves the map with
    stride 2 and widens it) → global average pool → dense.

    The stem is a single 3×3/1 conv + BN + ReLU with no max pool, for 28×28 to 64×64 images: the
    paper's ImageNet stem (7×7/2 conv then 3×3/2 max pool) would shrink a 32×32 image to 8×8 before the
    first block.  He ('fan_out') initialisation as in the paper.  Any input of 1×1 or more works.
    """

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, widths: tuple[int, ...],
                 blocks: tuple[int, ...], shortcut: str = "projection", stem: str = "small") -> None:
        super().__init__()
        if shortcut not in ("projection", "pad"):
            raise ValueError(f"shortcut must be 'projection' or 'pad', got {shortcut!r}")
        if stem == "small":
            self.stem = nn.Sequential(nn.Conv2d(input_shape[0], widths[0], 3, padding=1, bias=False),
                                      nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        else:  # "photo": the paper's ImageNet stem, narrower (5×5/2 conv, 3×3/2 max pool): 128 px → 32 px
            self.stem = nn.Sequential(nn.Conv2d(input_shape[0], widths[0], 5, stride=2, padding=2, bias=False),
                                      nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, stride=2, padding=1))
        layers: list[nn.Module] = []
        c = widths[0]
        for stage, (width, n) in enumerate(zip(widths, blocks)):
            for i in range(n):
                stride = 2 if stage > 0 and i == 0 else 1
                layers.append(BasicBlock(c, width, stride, shortcut))
                c = width
        self.stages = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, classes)
        return self.head(self.stages(self.stem(x)))


@register("resnet18", "He et al. 2015, ResNet-18: 4 stages × 2 basic blocks, 64-128-256-512, 3×3 stem, no max-pool")
def resnet18(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """ResNet-18: the paper's ImageNet widths and depths, projection shortcuts, a small-image stem."""
    return ResNet(input_shape, num_classes, widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), shortcut="projection")


@register("resnet20", "He et al. 2015, CIFAR ResNet-20: 3 stages × 3 basic blocks, 16-32-64, zero-pad shortcuts")
def resnet20(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """ResNet-20 as in the paper's CIFAR-10 section (6n+2 layers, n=3), with its option A shortcuts (0.27M params)."""
    return ResNet(input_shape, num_classes, widths=(16, 32, 64), blocks=(3, 3, 3), shortcut="pad")


register("resnet", "alias of resnet20")(resnet20)


@register("resnet-photo", "ResNet for photos (~128 px): 5×5/2 stem + 3×3/2 max pool, 3 stages × 2 blocks, 32-64-128")
def resnet_photo(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """A 14-layer ResNet for photo-sized inputs: the ImageNet-style stem shrinks 128×128 to 32×32 before the first
    block, so it costs about what ResNet-20 does on 32×32 CIFAR images (0.7M params)."""
    return ResNet(input_shape, num_classes, widths=(32, 64, 128), blocks=(2, 2, 2), shortcut="projection",
                  stem="photo")
