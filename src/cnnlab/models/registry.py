"""The model registry: name → builder(input_shape, num_classes) → nn.Module producing logits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

Builder = Callable[..., nn.Module]  # builder(input_shape, num_classes, **options) → nn.Module


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: Builder
    summary: str  # one line for `cnnlab models`
    inputs: str = "image"  # image: (C, H, W) images or spectrograms | tokens: (L,) int64 token ids
    pretrained: object | None = None  # backbones.spec.Pretrained: published ImageNet weights it can start from


MODELS: dict[str, ModelSpec] = {}


def register(name: str, summary: str, inputs: str = "image",
             pretrained: object | None = None) -> Callable[[Builder], Builder]:
    """Decorator: add a builder to the registry under `name` (with the ImageNet weights it can start from)."""
    def add(builder: Builder) -> Builder:
        MODELS[name] = ModelSpec(name, builder, summary, inputs, pretrained)
        return builder
    return add


def build(name: str, input_shape: tuple[int, ...], num_classes: int, **options) -> nn.Module:
    """Build model `name` for inputs of `input_shape` ((C, H, W) for images, (L,) for token ids) and
    `num_classes` outputs (logits, no softmax).  `options` are model-specific (e.g. vocab_size for text)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}")
    return MODELS[name].builder(tuple(int(d) for d in input_shape), int(num_classes), **options)


def flat_size(features: nn.Module, input_shape: tuple[int, int, int], model: str) -> int:
    """Number of values `features` outputs per image, found by a dry run; a clear error if the input is too small."""
    try:
        with torch.no_grad():
            out = features.eval()(torch.zeros(1, *input_shape))
    except RuntimeError as exc:
        raise ValueError(f"model {model!r} cannot take {'x'.join(map(str, input_shape))} input: "
                         f"it shrinks the image below 1 pixel ({str(exc).splitlines()[0]})") from None
    features.train()
    return int(out[0].numel())


DATA_INIT_SAMPLE = 5000  # training images a data-dependent initialisation sees at most


def data_init_modules(model: nn.Module) -> list[nn.Module]:
    """The model's layers that set their weights from training data (they define `init_from_data(x)`)."""
    return [m for m in model.modules() if callable(getattr(m, "init_from_data", None))]


def init_from_data(model: nn.Module, images: torch.Tensor) -> bool:
    """Initialise every data-initialised layer (e.g. whitenet's patch whitening, an input layer) from a sample of
    preprocessed training images (N, C, H, W) float, N ≤ DATA_INIT_SAMPLE.  True when there was such a layer."""
    layers = data_init_modules(model)
    for layer in layers:
        layer.init_from_data(images)
    return bool(layers)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
