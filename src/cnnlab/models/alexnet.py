"""AlexNet: Krizhevsky, Sutskever & Hinton, "ImageNet classification with deep convolutional neural
networks", NeurIPS 2012 — scaled down for 28×28 to 64×64 images."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from cnnlab.models.registry import flat_size, register

PAPER_CONV = (96, 256, 384, 384, 256)  # filters of conv1..conv5 in the paper
PAPER_FC = 4096  # units of each hidden dense layer in the paper


class LocalResponseNorm(nn.Module):
    """The paper's normalisation across maps: b_i = a_i / (k + α Σ_j a_j²)^β, j over the n maps centred on i
    (k=2, n=5, α=1e-4, β=0.75; PyTorch's nn.LocalResponseNorm(n, α·n, β, k) computes the same).

    The window sums are one 1×1 convolution with a fixed banded C×C matrix: on CPU with bf16 autocast it
    trains AlexNet twice as fast as nn.LocalResponseNorm, whose 3-D average pool dominated the step.
    """

    def __init__(self, channels: int, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> None:
        super().__init__()
        i = torch.arange(channels)
        band = ((i[:, None] - i[None, :]).abs() <= size // 2).float()  # (C, C): 1 where |i − j| ≤ n/2
        self.register_buffer("band", band[:, :, None, None], persistent=False)  # not saved: rebuilt from C
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → same
        sums = F.conv2d(x * x, self.band.to(x.dtype))  # (B, C, H, W): Σ a_j² over each window of maps
        return x * (self.k + self.alpha * sums).pow(-self.beta)

    def extra_repr(self) -> str:
        return f"channels={self.band.shape[0]}, size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class AlexNet(nn.Module):
    """AlexNet's 5 conv + 3 dense shape, with ReLU, local response normalisation after conv1 and conv2,
    overlapping 3×3/2 max pooling after conv1, conv2 and conv5, and dropout 0.5 before the two hidden
    dense layers — as in the paper.

    Scaled for small images (the paper takes 224×224 crops; here 28×28 to 64×64):
    - conv1 is 5×5 with stride 1 and padding 2 instead of 11×11 with stride 4: an 11×11/4 kernel would
      shrink a 32×32 image to 6×6 in its first layer.  conv2..conv5 keep the paper's 5×5 and 3×3 kernels
      with 'same' padding.
    - channel widths are the paper's divided by 4 (96-256-384-384-256 → 24-64-96-96-64) and the hidden
      dense layers have 512 units instead of 4096: 0.6M parameters on 28×28, 0.8M on 32×32 (61M in the paper).
    - the paper splits the network over two GPUs, so conv2, conv4 and conv5 see only the half of the
      previous maps on their own GPU (grouped convolutions); here every conv sees all of them.
    The dense head is sized to the input by a dry run: 28×28 → 64@2×2, 32×32 → 64@3×3, 48×48 → 64@5×5.
    Inputs must be at least 15×15.
    """

    def __init__(self, input_shape: tuple[int, int, int], num_classes: int, width: float = 0.25,
                 hidden: int = PAPER_FC // 8, dropout: float = 0.5) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = (max(1, round(w * width)) for w in PAPER_CONV)
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], c1, 5, padding=2), relu(), LocalResponseNorm(c1), nn.MaxPool2d(3, 2),  # 1
            nn.Conv2d(c1, c2, 5, padding=2), relu(), LocalResponseNorm(c2), nn.MaxPool2d(3, 2),              # 2
            nn.Conv2d(c2, c3, 3, padding=1), relu(),                                                         # 3
            nn.Conv2d(c3, c4, 3, padding=1), relu(),                                                         # 4
            nn.Conv2d(c4, c5, 3, padding=1), relu(), nn.MaxPool2d(3, 2),                                     # 5
        )
        n = flat_size(self.features, input_shape, "alexnet")
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout), nn.Linear(n, hidden), relu(),       # fc6
            nn.Dropout(dropout), nn.Linear(hidden, hidden), relu(),  # fc7
            nn.Linear(hidden, num_classes),                          # fc8 (logits)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) → (B, classes)
        return self.classifier(self.features(x))


@register("alexnet", "Krizhevsky et al. 2012, small-image AlexNet: 5 conv (5×5/1 stem, LRN) + 3 FC, widths ÷4")
def alexnet(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """AlexNet scaled for small images (see AlexNet's docstring for how)."""
    return AlexNet(input_shape, num_classes)
