"""LeNet-5: LeCun, Bottou, Bengio & Haffner, "Gradient-based learning applied to document recognition",
Proc. IEEE 86(11), 1998."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.models.registry import flat_size, register

PAPER_FIELD = 32  # pixels: the paper centres its 28×28 digits in a 32×32 input field


class PadTo(nn.Module):
    """Zero-pad an image, centred, to at least `size`×`size` (larger images pass unchanged)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        dh, dw = max(self.size - x.shape[-2], 0), max(self.size - x.shape[-1], 0)
        if dh == 0 and dw == 0:
            return x
        return F.pad(x, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))

    def extra_repr(self) -> str:
        return f"size={self.size}"


class LeNet5(nn.Module):
    """LeNet-5 in its classic layout: C1 conv 6@5×5 → S2 avg-pool 2 → C3 conv 16@5×5 → S4 avg-pool 2
    → C5 dense 120 → F6 dense 84 → output dense, tanh after every layer but the last.

    Inputs smaller than 32×32 are zero-padded (centred) to 32×32, as the paper does with its 28×28 MNIST
    digits, so that C3's 5×5 receptive fields also see the strokes near the border.  On 32×32 with 10
    classes it has 61,706 parameters: C1 156 + C3 2,416 + C5 48,120 + F6 10,164 + output 850.

    Differences from the 1998 network, all the usual "classic layout" simplifications:
    - S2/S4 are plain 2×2 average pools; the paper's subsampling has a trainable gain and bias per map
      (+12 and +32 parameters) followed by a squashing function.
    - C3 connects every S2 map to every C3 map (2,416 parameters); the paper wires each C3 map to only
      3, 4 or 6 of the S2 maps (Table I, 1,516 parameters) to break symmetry and save compute.
    - C5 is a dense layer over the flattened S4 maps.  On a 32×32 input S4 is 16@5×5, so this equals the
      paper's 5×5 convolution; on larger inputs the dense layer grows with the maps instead.
    - tanh instead of the paper's scaled 1.7159·tanh(2x/3), and the output is a dense layer giving logits
      (softmax in the loss) instead of Euclidean RBF units on fixed 7×12 bitmaps.
    """

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int) -> None:
        super().__init__()
        c = input_shape[0]
        self.features = nn.Sequential(
            PadTo(PAPER_FIELD),
            nn.Conv2d(c, 6, 5), nn.Tanh(), nn.AvgPool2d(2),   # C1, S2: 32×32 → 28×28 → 14×14
            nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),  # C3, S4: 14×14 → 10×10 → 5×5
        )
        n = flat_size(self.features, input_shape, "lenet5")  # 16·5·5 = 400 on 32×32
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(n, 120), nn.Tanh(),   # C5
            nn.Linear(120, 84), nn.Tanh(),  # F6
            nn.Linear(84, num_classes),     # output (logits)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, classes)
        return self.classifier(self.features(x))


@register("lenet5", "LeCun et al. 1998: conv 6@5×5 → pool → conv 16@5×5 → pool → FC 120 → 84, tanh; pads 28×28 to 32×32")
def lenet5(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """LeNet-5, classic layout (inputs below 32×32 padded to 32×32 as in the paper)."""
    return LeNet5(input_shape, num_classes)
