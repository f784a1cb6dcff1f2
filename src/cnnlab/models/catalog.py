"""The model catalog of `cnnlab models`: every registered model's size and cost for one input shape."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from cnnlab.models.flops import count_flops
from cnnlab.models.registry import MODELS, build, count_parameters


@dataclass
class CatalogRow:
    """One model: its name, parameters and FLOPs per image (None where it cannot take the input), whether it
    takes ImageNet weights (`--pretrained`) and whether they are in the weights cache, and its one-line summary."""
    name: str
    parameters: int | None
    flops: int | None
    pretrained: bool
    cached: bool
    summary: str


def catalog(input_shape: tuple[int, ...], num_classes: int) -> list[CatalogRow]:
    """Every registered model built on the meta device for `input_shape` (C, H, W) and `num_classes`: shapes
    only, no memory and no weight initialisation.  FLOPs = 2 × the multiply-adds of conv and dense layers
    (models.flops).  A model that cannot take the input (too small for its pools, or not images) gets None."""
    from cnnlab.runs.pretrained import weights_dir

    folder, rows = weights_dir(), []
    for name, spec in MODELS.items():
        try:
            with torch.device("meta"):
                model = build(name, input_shape, num_classes)
                parameters, flops = count_parameters(model), int(count_flops(model, input_shape))
        except ValueError:
            parameters = flops = None
        cached = spec.pretrained is not None and (folder / spec.pretrained.file).is_file()
        rows.append(CatalogRow(name, parameters, flops, spec.pretrained is not None, cached, spec.summary))
    return rows
