"""A small 2-D CNN for spectrograms: the input is a one-channel image of Mel bands × time frames."""
from __future__ import annotations

from torch import nn

from cnnlab.models.course import conv_bn
from cnnlab.models.registry import flat_size, register


@register("audiocnn", "the same as audio-cnn")
@register("audio-cnn", "spectrogram CNN: 4× (conv-BN-ReLU + max-pool), widths 16-128, global pool, dropout")
def audio_cnn(input_shape: tuple[int, ...], num_classes: int, widths: tuple[int, ...] = (16, 32, 64, 128),
              dropout: float = 0.3) -> nn.Module:
    """Four blocks of 3×3 conv → batch norm → ReLU → 2×2 max pool over (Mel band, frame), then a global
    average pool, dropout and one dense layer.  On 1×40×100 log-Mel images (1 s at 100 frames/s) the maps
    shrink 40×100 → 20×50 → 10×25 → 5×12 → 2×6; the global pool makes the output indifferent to where
    in the window a word falls.  ~100k parameters; any input of at least 16×16 works."""
    if len(input_shape) != 3:
        raise ValueError(f"model 'audio-cnn' takes feature images (C, bands, frames), got "
                         f"{'x'.join(map(str, input_shape))}")
    layers, c = [], input_shape[0]
    for width in widths:
        layers += [*conv_bn(c, width), nn.MaxPool2d(2)]
        c = width
    features = nn.Sequential(*layers)
    flat_size(features, input_shape, "audio-cnn")  # fail early on inputs too small for the pools
    return nn.Sequential(*features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                         nn.Linear(c, num_classes))
