"""Progressive resizing (`--progressive-resize 0.67`): the first epochs train on smaller images, which cost less,
growing to the full size before the schedule's last quarter; validation, test and predictions stay at full size.

fastai's progressive resizing (Howard, DAWNBench 2018: ImageNet trained at 128 then 224 then 288 px) and FFCV's
linear resolution ramp (Leclerc et al. 2023, "FFCV: Accelerating Training by Removing Data Bottlenecks": 160 →
192 px, rounded to multiples of 32).  Here the side grows linearly from `start` × the full side at epoch 1 to the
full side at RAMP_END of the epochs, rounded down to a multiple of SIZE_STEP px, and the last epochs, where the
learning rate anneals, train at full size so that the batch norms' statistics and the filters end at the size
that is scored.  A convolution's cost is proportional to the pixels: whitenet's training steps on 500 gray faces
(bf16, 2 cores) ran 1.25× faster at 44×44 than at 48×48, 1.6× at 40×40, 2.1× at 36×36, 2.2× at 32×32.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

RAMP_END = 0.75  # the share of the epochs after which every epoch trains at full size
SIZE_STEP = 4  # sides are multiples of this many pixels (kernels of shapes seen before; pools divide evenly)


def epoch_size(epoch: int, epochs: int, full: tuple[int, int], start: float | None) -> tuple[int, int]:
    """(height, width) of the training images in `epoch` (1-based) of `epochs`, for images of `full` (H, W) and a
    ramp from `start` × the full side (0 < start ≤ 1; None: no resizing).  Each side: full × (start + (1 − start)
    × (epoch − 1) / (ramp_epochs − 1)), ramp_epochs = round(RAMP_END × epochs), rounded down to a multiple of
    SIZE_STEP (never below SIZE_STEP or the full side, whichever is smaller); from epoch ramp_epochs on: full."""
    if not start or start >= 1:
        return tuple(full)
    ramp = max(1, round(RAMP_END * epochs))
    if epoch >= ramp:
        return tuple(full)
    scale = start + (1 - start) * (epoch - 1) / max(1, ramp - 1)
    return tuple(min(side, max(min(SIZE_STEP, side), math.floor(side * scale / SIZE_STEP) * SIZE_STEP))
                 for side in full)


def epoch_cost(epoch: int, epochs: int, full: tuple[int, int], start: float | None) -> float:
    """The training cost of `epoch` relative to a full-size epoch: its pixels per image over the full size's."""
    h, w = epoch_size(epoch, epochs, full, start)
    return h * w / (full[0] * full[1])


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """x (B, C, H, W) float resampled to `size` (h, w): bilinear, antialiased when shrinking (as PIL's resize);
    x itself when it already has that size."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=tuple(size), mode="bilinear", antialias=True, align_corners=False)


def check_resizable(model: nn.Module, input_shape: tuple[int, ...], size: tuple[int, int], name: str) -> None:
    """Raise a ValueError when `model` (built for `input_shape` (C, H, W)) cannot take images of `size`: a model
    that flattens a fixed-size feature map into a dense layer (dnn, mnist-1conv, mnist-2conv) needs its own size;
    one that ends in global pooling (cnn, whitenet, resnet20) takes any."""
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        with torch.no_grad():
            model(torch.zeros(2, input_shape[0], *size, device=device))
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"--progressive-resize: model {name} cannot take {size[0]}×{size[1]} images (built for "
                         f"{input_shape[1]}×{input_shape[2]}: {first}); use a model that ends in global pooling "
                         f"(whitenet, resnet20) or leave the option out") from None
    finally:
        model.train(was_training)


def ramp_note(epochs: int | None, full: tuple[int, int], start: float | None) -> str:
    """The console line of a ramp, e.g. 'progressive resizing: epochs 1-19 train on 32×32 growing to 44×44 images,
    epochs 20-26 on 48×48 (scored at 48×48)'; with `epochs` None (a time budget plans them) the sizes and the
    share; '' when there is none."""
    first = epoch_size(1, max(epochs or 2, 2), full, start)
    if epochs is None:
        if first == tuple(full):
            return ""
        return (f"progressive resizing: from {first[0]}×{first[1]} to {full[0]}×{full[1]} images over the first "
                f"{RAMP_END:.0%} of the epochs the time budget plans (scored at {full[0]}×{full[1]})")
    sizes = [epoch_size(e, epochs, full, start) for e in range(1, epochs + 1)]
    small = [s for s in sizes if s != tuple(full)]
    if not small:
        return ""
    last, n = small[-1], len(small)

    def span(a: int, b: int) -> str:
        return f"epoch {a}" if a == b else f"epochs {a}-{b}"

    grow = f"{first[0]}×{first[1]}" + (f" growing to {last[0]}×{last[1]}" if last != first else "")
    rest = f", {span(n + 1, epochs)} on {full[0]}×{full[1]}" if epochs > n else ""
    return (f"progressive resizing: {span(1, n)} train{'s' if n == 1 else ''} on {grow} images{rest} "
            f"(scored at {full[0]}×{full[1]})")
