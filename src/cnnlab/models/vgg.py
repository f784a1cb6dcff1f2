"""VGG: Simonyan & Zisserman, "Very deep convolutional networks for large-scale image recognition",
ICLR 2015 — with batch normalisation (Ioffe & Szegedy 2015), sized for small images."""
from __future__ import annotations

import torch
from torch import nn

from cnnlab.models.registry import register

# The paper's Table 1 configurations: filters of each 3×3 conv, "M" a 2×2/2 max pool.
LAYOUTS = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],  # configuration A
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],  # D
}


class VGG(nn.Module):
    """Stacks of 3×3 'same' convolutions (each → batch norm → ReLU), a 2×2 max pool after each stack,
    then three dense layers — VGG-11 (8 conv + 3 dense) or VGG-16 (13 conv + 3 dense).

    Sized for small images: filters are the paper's halved (64…512 → 32…256); the pools round up
    (ceil mode), so the five of them take any input down to 1×1 without failing (28 → 14 → 7 → 4 → 2 → 1);
    a global average pool then feeds two hidden dense layers of 256 units (4,096 in the paper) with
    dropout 0.5, and the output layer.  Batch norm after every conv (not in the 2014 paper) lets the
    deep plain stack train from scratch at Adam's default rate.
    """

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, depth: int = 11,
                 width: float = 0.5, hidden: int = 256, dropout: float = 0.5) -> None:
        super().__init__()
        if depth not in LAYOUTS:
            raise ValueError(f"VGG depth must be one of {sorted(LAYOUTS)}, got {depth}")
        layers: list[nn.Module] = []
        c = input_shape[0]
        for item in LAYOUTS[depth]:
            if item == "M":
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            else:
                out = max(1, round(int(item) * width))
                layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                c = out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),  # (B, c): any input size ends here
            nn.Linear(c, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, classes)
        return self.classifier(self.features(x))


@register("vgg11", "Simonyan & Zisserman 2014, VGG-11 with batch norm: 8 conv 3×3 (32…256) + 3 FC, small-input")
def vgg11(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """VGG-11 (configuration A) with batch norm, half the paper's filters."""
    return VGG(input_shape, num_classes, depth=11)


@register("vgg16", "Simonyan & Zisserman 2014, VGG-16 with batch norm: 13 conv 3×3 (32…256) + 3 FC, small-input")
def vgg16(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """VGG-16 (configuration D) with batch norm, half the paper's filters."""
    return VGG(input_shape, num_classes, depth=16)


register("vgg", "alias of vgg11")(vgg11)
