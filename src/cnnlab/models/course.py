"""The course's own models, layer for layer as on its slides (logits out: the loss applies the softmax)."""
from __future__ import annotations

from torch import nn

from cnnlab.models.registry import flat_size, register


@register("dnn", "the homework's simple DNN: Flatten → Dense 32 → ReLU → Dropout 0.5 → Dense")
def dnn(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Flatten → Dense 32 → ReLU → Dropout 0.5 → Dense classes (the FER homework's 'simple DNN')."""
    c, h, w = input_shape
    return nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 32), nn.ReLU(), nn.Dropout(0.5),
                         nn.Linear(32, num_classes))


def _head(features: nn.Sequential, input_shape, num_classes: int, name: str, dropout: float) -> nn.Sequential:
    """features → Flatten → Dense 128 ReLU → Dropout → Dense classes."""
    n = flat_size(features, input_shape, name)
    return nn.Sequential(*features, nn.Flatten(), nn.Linear(n, 128), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(128, num_classes))


@register("mnist-1conv", "slide 5.2: Conv 32 3×3 → MaxPool 2 → Dropout .25 → Dense 128 → Dropout .5")
def mnist_1conv(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Conv 32 3×3 ReLU → MaxPool 2 → Dropout 0.25 → Flatten → Dense 128 ReLU → Dropout 0.5 → Dense."""
    c = input_shape[0]
    features = nn.Sequential(nn.Conv2d(c, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25))
    return _head(features, input_shape, num_classes, "mnist-1conv", 0.5)


@register("mnist-2conv", "slide 5.2: 2× (Conv 3×3 → MaxPool 2 → Dropout .25), 32 and 64 filters → Dense 128")
def mnist_2conv(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Conv 32 3×3 ReLU → MaxPool 2 → Dropout 0.25 → Conv 64 3×3 ReLU → MaxPool 2 → Dropout 0.25
    → Flatten → Dense 128 ReLU → Dropout 0.25 → Dense (28×28 input: flatten 5·5·64 = 1,600)."""
    c = input_shape[0]
    features = nn.Sequential(nn.Conv2d(c, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
                             nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25))
    return _head(features, input_shape, num_classes, "mnist-2conv", 0.25)


@register("cnn3", "slide 5.1: Conv 12 5×5 → Conv 16 5×5 → Conv 20 4×4, each + MaxPool 2 → Dense 128")
def cnn3(input_shape: tuple[int, int, int], num_classes: int) -> nn.Module:
    """Conv 12 5×5 → MaxPool 2 → Conv 16 5×5 → MaxPool 2 → Conv 20 4×4 → MaxPool 2 → Flatten → Dense 128
    → Dense, ReLU throughout (the slide's 120×160×1 example: flatten 12·17·20 = 4,080)."""
    c = input_shape[0]
    features = nn.Sequential(nn.Conv2d(c, 12, 5), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(12, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 20, 4), nn.ReLU(), nn.MaxPool2d(2))
    n = flat_size(features, input_shape, "cnn3")
    return nn.Sequential(*features, nn.Flatten(), nn.Linear(n, 128), nn.ReLU(), nn.Linear(128, num_classes))


def conv_bn(c_in: int, c_out: int) -> list[nn.Module]:
    """3×3 'same' convolution → batch norm → ReLU (no conv bias: batch norm has its own shift)."""
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


@register("cnn", "cnnlab's default simple CNN: 3 blocks of 2× conv-BN-ReLU + max-pool, global pool, dropout")
def cnn(input_shape: tuple[int, int, int], num_classes: int, widths: tuple[int, int, int] = (32, 64, 128),
        dropout: float = 0.3) -> nn.Module:
    """cnnlab's default simple CNN, designed for FER-sized (48×48) faces and fine on 28×28 digits.

    Three blocks, each two 3×3 conv → batch norm → ReLU then 2×2 max pooling (widths 32, 64, 128):
    48×48 → 24 → 12 → 6.  Batch norm lets it train fast at high learning rates; a global average pool
    then dropout and one dense layer keep the head small (~290k parameters), so it overfits less than
    the slides' Flatten → Dense heads.  Works for any input of at least 8×8 pixels.
    """
    c = input_shape[0]
    w1, w2, w3 = widths
    layers = [*conv_bn(c, w1), *conv_bn(w1, w1), nn.MaxPool2d(2),
              *conv_bn(w1, w2), *conv_bn(w2, w2), nn.MaxPool2d(2),
              *conv_bn(w2, w3), *conv_bn(w3, w3), nn.MaxPool2d(2)]
    features = nn.Sequential(*layers)
    flat_size(features, input_shape, "cnn")  # fail early on inputs smaller than 8×8
    return nn.Sequential(*features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                         nn.Linear(w3, num_classes))
