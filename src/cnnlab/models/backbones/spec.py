"""What a backbone's published ImageNet weights are (file, URL, SHA-256, input normalisation) and how they are
put into a cnnlab model built for other data (another number of classes, or gray input).  No disk, no network:
runs/pretrained.py finds and checks the file."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # per RGB channel, pixel units [0, 1]; the statistics torchvision trained with
IMAGENET_STD = (0.229, 0.224, 0.225)
TORCHVISION_URL = "https://download.pytorch.org/models"


@dataclass(frozen=True)
class Pretrained:
    """A published weight file: torchvision's name (which embeds the first 8 hex digits of its SHA-256), where it
    is downloaded from, its full SHA-256, the input normalisation it was trained with, the key of the first conv's
    weight (adapted for gray input) and the prefix of the ImageNet classifier's keys (replaced for the data)."""

    file: str
    sha256: str
    first_conv: str  # e.g. "conv1.weight": (64, 3, 7, 7) in the file
    head: str  # e.g. "fc.": the 1000-class ImageNet classifier
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    base_url: str = TORCHVISION_URL

    @property
    def url(self) -> str:
        return f"{self.base_url}/{self.file}"

    def normalization(self, channels: int) -> tuple[list[float], list[float]]:
        """(mean, std) per input channel in pixel units: ImageNet's for RGB; for gray input (whose first conv sums
        the RGB filters, see adapt_state) the average of the three channels' mean and std."""
        if channels == 3:
            return list(self.mean), list(self.std)
        return [sum(self.mean) / 3], [sum(self.std) / 3]


def adapt_state(state: dict[str, torch.Tensor], model: nn.Module, spec: Pretrained, source: str) -> list[str]:
    """Load an ImageNet state_dict into `model` (built for C channels and N classes): the head is loaded only when
    its shape matches (N = 1000), for gray input the first conv's weights are summed over RGB (timm's
    adapt_input_conv, which keeps a gray image's response equal to that of the same image in RGB), every other
    tensor must match by name and shape.  Returns the keys left newly initialised; a ValueError naming the first
    tensors that do not fit (the file is for another model)."""
    own = model.state_dict()
    metadata = getattr(state, "_metadata", None)  # module versions: BatchNorm fills in num_batches_tracked by it
    state = OrderedDict(state)
    if metadata is not None:
        state._metadata = metadata
    conv = state.get(spec.first_conv)
    if conv is not None and spec.first_conv in own and conv.shape[1] == 3 and own[spec.first_conv].shape[1] == 1:
        state[spec.first_conv] = conv.sum(dim=1, keepdim=True)
    fresh = [k for k in own if k.startswith(spec.head) and (k not in state or state[k].shape != own[k].shape)]
    for key in fresh:
        state.pop(key, None)
    missing = [k for k in own if k not in state and k not in fresh and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    wrong = [k for k in state if k in own and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        found = (f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(unexpected[:3])}"
                 if unexpected else f"shape of {wrong[0]} is {tuple(state[wrong[0]].shape)}, expected "
                 f"{tuple(own[wrong[0]].shape)}")
        raise ValueError(f"{source}: not the weights of this model ({found})")
    model.load_state_dict(state, strict=False)
    return fresh
